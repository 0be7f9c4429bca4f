import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPPool, { type SMTPPoolOptions } from 'nodemailer/lib/smtp-pool';
import type { Alert } from './alert.ts';
import {
  accessTokenRefusalError,
  classifySmtpFailure,
  recipientLimitError,
  repeatedRefusalError,
  STALE_CONNECTION_CODES,
} from './classify.ts';
import type { AlertConfig } from './config.ts';
import { AlertError, DeliveryError, TokenRequestError } from './errors.ts';
import {
  type AppPasswordCredentials,
  authPlainToken,
  credentialsFingerprint,
  credentialsKind,
  fetchGmailCredentials,
  type GmailCredentials,
  isOAuthCredentials,
  type OAuthCredentials,
  xoauth2Token,
} from './gmail-credentials.ts';
import {
  enhancedStatusOf,
  isCredentialRefusal,
  isRecipientLimitReply,
  isUnauthenticatedReply,
  type OAuthKind,
  type SmtpService,
  smtpServiceOf,
} from './gmail-replies.ts';
import { GoogleAccessTokens } from './google-oauth.ts';
import { mailHeaders } from './mail-headers.ts';
import { type RenderedAlert, renderAlert } from './render.ts';

/** One recipient Gmail did not take, and why (its own reply to RCPT, or the failure of its message). */
export interface RecipientFailure {
  address: string;
  failure: DeliveryError;
}

/**
 * What happened to each recipient of one alert. Every address of the alert is in exactly one of
 * `accepted` and `failed`.
 */
export interface DeliveryReceipt {
  messageId: string;
  accepted: string[];
  failed: RecipientFailure[];
}

/** An alert and its rendering (made once, when the first message is composed), sent in one or more messages. */
interface OutgoingMessage {
  alert: Alert;
  rendered: () => RenderedAlert;
  /** The connection opened ahead for it ({@link GmailSender.connectAhead}); its first attempt uses it. */
  ahead?: ConnectionAhead;
}

/** A connection opened ahead of a message: settles once ready (undefined) or failed (the error). */
export type ConnectionAhead = Promise<Error | undefined>;

/** Reads the Gmail credentials; `forceFetch` bypasses any cache (used after Gmail refused them). */
export type CredentialsLoader = (options: { forceFetch: boolean }) => Promise<GmailCredentials>;

interface AuthReply {
  status: number;
  response: string;
}

interface AuthContext {
  /** The resource's own auth object: tells which connection is authenticating (see createPool). */
  auth: object;
  /** What the server's EHLO offered, such as PIPELINING. */
  extensions: string[];
  sendCommand(command: string): Promise<AuthReply>;
  /** `done` is called as the reply is read: before the next reply is, and before a 421 closes the connection. */
  sendCommand(command: string, done: (error: Error | null, reply: AuthReply) => void): void;
}

/** The parts of nodemailer's SMTP connection that pipelining AUTH needs; checked before use. */
interface SmtpConnectionInternals {
  /** The message being sent on it, until its last reply: its callback, and the stream it reads. */
  _pendingSend?: { callback(error: Error): void; stream?: unknown } | false;
  _formatError(message: Error, type: string, response: string, command: string): Error;
  close(): void;
  /** 'end': the connection is closed, whoever closed it. */
  once(event: 'end', listener: () => void): unknown;
  removeListener(event: 'end', listener: () => void): unknown;
}

function connectionInternalsOf(connection: unknown): SmtpConnectionInternals | undefined {
  const candidate = connection as Partial<SmtpConnectionInternals> | undefined;
  return typeof candidate?._formatError === 'function' &&
    typeof candidate.close === 'function' &&
    typeof candidate.once === 'function' &&
    typeof candidate.removeListener === 'function'
    ? (candidate as SmtpConnectionInternals)
    : undefined;
}

/** A reply's code; nodemailer leaves `status` at 0 for multi-line replies, which is how Gmail refuses. */
const replyCode = (reply: { response: string }) => Number(reply.response.slice(0, 3));

/**
 * AUTH XOAUTH2 with an access token. Gmail answers a token it does not take with 334 and a base64
 * JSON error, and sends its 535 only after the client's empty line.
 */
async function sendXOAuth2(context: AuthContext, username: string, accessToken: string) {
  let reply = await context.sendCommand(`AUTH XOAUTH2 ${xoauth2Token(username, accessToken)}`);
  if (replyCode(reply) === 334) reply = await context.sendCommand('');
  return { code: replyCode(reply), response: reply.response };
}

/** What nodemailer's SMTP connection reports for a message (`info`), as far as it is read here. */
interface SentInfo {
  messageId: string;
  accepted: unknown[];
  rejectedErrors?: RecipientReplyError[];
}

/** A recipient's own refusal, as nodemailer reports it in `rejectedErrors`. */
interface RecipientReplyError extends Error {
  recipient?: unknown;
  responseCode?: number;
  response?: string;
}

/**
 * The parts of nodemailer's pool that opening a connection ahead of a message needs (see
 * {@link GmailSender.connectAhead}); checked before use, so another shape only loses the head start.
 */
interface PoolInternals {
  _closed: boolean;
  _connections: unknown[];
  _createConnection(): PoolResource;
}

interface PoolResource {
  available: boolean;
  /** Made per resource and handed to its connection's login: the AuthContext's `auth`. */
  auth?: object;
  /** nodemailer's SMTP connection of the resource, once connect() has been called. */
  connection?: { _actionGreeting?: (reply: string) => unknown };
  connect(callback: (error?: Error | null) => void): void;
  _release(): void;
  once(event: 'close', listener: () => void): void;
  once(event: 'error', listener: (error?: Error) => void): void;
}

function poolInternalsOf(pool: unknown): PoolInternals | undefined {
  const candidate = pool as Partial<PoolInternals>;
  return Array.isArray(candidate._connections) && typeof candidate._createConnection === 'function'
    ? (candidate as PoolInternals)
    : undefined;
}

/**
 * `authenticate` is given the connection being authenticated as well, when the pool is of the shape
 * {@link PoolInternals} describes (to pipeline the message behind AUTH; see GmailSender).
 */
function createPool(
  smtp: AlertConfig['smtp'],
  authenticate: (context: AuthContext, connection: SmtpConnectionInternals | undefined) => Promise<void>,
) {
  // nodemailer does not tell a custom AUTH handler which connection it runs for; each pool resource
  // makes its own auth object and hands it to its connection's login, so that object tells.
  const resources = new WeakMap<object, PoolResource>();
  const connectionOf = (context: AuthContext) =>
    connectionInternalsOf(resources.get(context.auth)?.connection);
  const options: SMTPPoolOptions = {
    pool: true,
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    // 587 starts in plain text: insist on STARTTLS before anything else is said. There is no plaintext mode.
    requireTLS: !smtp.secure,
    tls: { minVersion: 'TLSv1.2' },
    maxConnections: smtp.maxConnections,
    maxMessages: 100,
    // Lambda freezes timers; a connection idle past this is closed on the next thaw anyway.
    idleTimeout: 60_000,
    // nodemailer's defaults (2 min connect, 10 min socket) outlive API Gateway's 29 s.
    connectionTimeout: smtp.timeoutMs,
    greetingTimeout: smtp.timeoutMs,
    socketTimeout: smtp.timeoutMs,
    dnsTimeout: smtp.timeoutMs,
    socketCloseTimeout: 0,
    logger: false,
    debug: false,
    // The password is looked up when AUTH is due, so connecting, EHLO and STARTTLS overlap the secret fetch.
    // The handler speaks AUTH PLAIN or AUTH XOAUTH2, as the secret's shape says; nodemailer names the slot.
    auth: { user: 'gmail-secret', method: 'PLAIN' },
    customAuth: { PLAIN: (context: AuthContext) => authenticate(context, connectionOf(context)) },
    // Never send unauthenticated, even to a server that does not offer AUTH: the message is composed
    // after AUTH, when the sender is known (see ComposedOnDemand).
    forceAuth: true,
    // The pool's default hands out the socket options on the next turn of the loop, after whatever
    // else the invocation started meanwhile (the state table's requests, tens of ms of CPU on a cold
    // container). Connecting at once puts the TCP handshake and the greeting under that work.
    getSocket: (_options, callback) => callback(null, false),
  };
  const pool = new SMTPPool(options);
  // Failures reach the caller through send's callback; an unhandled 'error' event would end the process.
  pool.on('error', () => {});
  const internals = poolInternalsOf(pool);
  if (internals) {
    const create = internals._createConnection.bind(internals);
    internals._createConnection = () => {
      const resource = create();
      if (resource.auth) resources.set(resource.auth, resource);
      return resource;
    };
  }
  return pool;
}

/** What a message is made of once its sender is known: see {@link ComposedOnDemand}. */
type ComposeMessage = (from: string, messageId: string) => ReturnType<MailComposer['compile']>;

/**
 * A message the pool composes only when a connection is ready to send it: after AUTH on a new
 * connection, which waits for the secret. So a cold start that learns its sender from the secret
 * still connects (TCP, TLS, EHLO) while the secret is being fetched. Only the calls the pool makes
 * on a message before and while sending it are answered.
 *
 * The envelope and the Message-ID need no composing, so a connection sends the envelope first; the
 * message is composed and encoded on the next turn of the loop, during the envelope's round trip (its
 * bytes go out only after DATA's 354). A new connection that waits for AUTH's reply calls
 * {@link prepare} while AUTH is on the wire, so that this work (slow the first time the code runs)
 * overlaps that round trip instead.
 */
class ComposedOnDemand {
  /** Its envelope was taken while a pipelined AUTH was unanswered: it may have gone out behind AUTH. */
  behindAuth = false;
  /** It went out behind an AUTH that the server then accepted (235). */
  authAccepted = false;
  /** The streams handed to connections, to tell which message a connection is sending. */
  readonly #streams = new WeakSet<object>();
  readonly #to: string[];
  readonly #sender: () => string;
  readonly #compose: ComposeMessage;
  readonly #authUnanswered: () => boolean;
  /** One object, as the composer's own: nodemailer notes on it how the envelope fared. */
  #envelope: { from: string; to: string[] } | undefined;
  #messageId: string | undefined;
  /** The whole message, encoded by {@link prepare}. */
  #raw: Promise<Buffer> | undefined;

  /**
   * `sender` throws while the sender is not known (before AUTH, without ALERT_FROM);
   * `authUnanswered` says whether some connection's pipelined AUTH still waits for its reply.
   */
  constructor(to: string[], sender: () => string, compose: ComposeMessage, authUnanswered: () => boolean) {
    this.#to = to;
    this.#sender = sender;
    this.#compose = compose;
    this.#authUnanswered = authUnanswered;
  }

  /** Composes and encodes the message now (once); a failure is reported on the stream the connection reads. */
  prepare(): Promise<Buffer> {
    if (!this.#raw) {
      this.#raw = new Promise<Buffer>((resolve) => {
        resolve(this.#compose(this.getEnvelope().from, this.messageId()).build());
      });
      this.#raw.catch(() => {
        // Reported by createReadStream.
      });
    }
    return this.#raw;
  }

  /** Asked for by the connection about to send the message, right before it writes the envelope. */
  getEnvelope() {
    if (this.#authUnanswered()) this.behindAuth = true;
    this.#envelope ??= { from: this.#sender(), to: [...this.#to] };
    return this.#envelope;
  }

  /** As nodemailer makes one: a random id at the sender's domain. */
  messageId() {
    this.#messageId ??= `<${randomUUID()}@${this.getEnvelope().from.split('@').pop()}>`;
    return this.#messageId;
  }

  createReadStream() {
    const stream = new PassThrough();
    const feed = () =>
      this.prepare().then(
        (raw) => stream.end(raw),
        (error: unknown) => stream.destroy(error as Error),
      );
    // Asked for right before the connection writes the envelope: compose once that is on the wire.
    if (this.#raw) feed();
    else setImmediate(feed);
    this.#streams.add(stream);
    return stream;
  }

  /** Whether the connection sending `stream` is sending this message. */
  reads(stream: unknown): boolean {
    return typeof stream === 'object' && stream !== null && this.#streams.has(stream);
  }

  /** Read for logging when the message is assigned to a connection; nothing is composed for it. */
  getHeader(_key: string): undefined {
    return undefined;
  }
}

/**
 * One warm, pooled Gmail SMTP transport per container, with the credentials from Secrets Manager.
 * Survives between invocations at module scope; see {@link initRuntime}.
 */
export class GmailSender {
  readonly #config: AlertConfig;
  readonly #loadCredentials: CredentialsLoader;
  #pool: ReturnType<typeof createPool> | undefined;
  #generation = 0;
  /** The credentials, cached by Powertools for maxAge; concurrent callers share one request. */
  readonly #credentials: () => Promise<GmailCredentials>;
  /** The credentials read again past every cache, after Gmail refused them. */
  readonly #freshCredentials: () => Promise<GmailCredentials>;
  /** The account's address once the secret has been read: the sender when ALERT_FROM is not set. */
  #username: string | undefined;
  /** Fingerprints of credentials refused (by Gmail or the token endpoint), until when, and the error to report. */
  readonly #refused = new Map<string, { until: number; error: () => AlertError }>();
  /** The access tokens of an OAuth secret, cached per container. */
  readonly #tokens: GoogleAccessTokens;
  /** Gmail, the Workspace SMTP relay or Amazon SES: whose replies are read first. */
  readonly #service: SmtpService;
  /** Messages handed to the pool and not sent yet: prepared while a new connection's AUTH is in flight. */
  readonly #waiting = new Set<ComposedOnDemand>();
  /** Told when a message joins {@link waiting}: connections whose AUTH PLAIN is unanswered send it behind AUTH. */
  readonly #arrivals = new Set<() => void>();
  /** Connections that went on after AUTH PLAIN without its reply, until it comes or they close. */
  #authsUnanswered = 0;
  /**
   * The connection opened by {@link connectAhead}, until it is ready or has failed: `ready` settles
   * then (undefined, or the error, which the messages that waited for it report); `greeted` settles
   * once the server's greeting has arrived on it, or with `ready`.
   */
  #connectingAhead: { ready: ConnectionAhead; greeted: Promise<void> } | undefined;
  /**
   * Whether a message may follow AUTH PLAIN without waiting for its reply (RFC 4954 §4 allows it for
   * PLAIN with an initial response, on a server that offers PIPELINING): SMTP_PIPELINE_AUTH, and off
   * for the container once a server has read such an envelope before it finished AUTH.
   */
  #pipelineAuth: boolean;

  /** `loadCredentials` defaults to the secret `config.secretId`; local tools pass their own. */
  constructor(config: AlertConfig, loadCredentials?: CredentialsLoader) {
    this.#config = config;
    this.#pipelineAuth = config.smtp.pipelineAuth;
    this.#service = smtpServiceOf(config.smtp.host);
    this.#tokens = new GoogleAccessTokens({
      tokenUrl: config.oauthTokenUrl,
      timeoutMs: config.smtp.timeoutMs,
    });
    this.#loadCredentials =
      loadCredentials ??
      (({ forceFetch }) =>
        fetchGmailCredentials(config.secretId, { maxAgeSeconds: config.secretCacheSeconds, forceFetch }));
    this.#credentials = sharedWhileInFlight(() => this.#loadCredentials({ forceFetch: false }));
    this.#freshCredentials = sharedWhileInFlight(() => this.#loadCredentials({ forceFetch: true }));
  }

  /**
   * Starts the secret fetch now (Lambda's init phase), and for an OAuth secret the token request
   * after it, so the first alert waits for neither.
   */
  prefetchCredentials(): void {
    this.#credentials()
      .then((credentials) => (isOAuthCredentials(credentials) ? this.#tokens.get(credentials) : undefined))
      .catch(() => {
        // Reported by the first send that needs the credentials.
      });
  }

  /**
   * Opens a pooled connection now when there is none, so that TCP, TLS, EHLO and AUTH run while the
   * caller is still deciding whether to mail the alert (the state table's round) instead of after it.
   * A message sent meanwhile waits for this connection rather than opening a second one, and fails
   * as it fails; so does the message it was opened for (pass it to {@link send}), even after the
   * failure: one attempt, as if the message had opened it. The connection stays in the pool even if
   * nothing is mailed, closed after the pool's idle timeout.
   */
  connectAhead(): ConnectionAhead | undefined {
    const pool = poolInternalsOf(this.#warmPool());
    if (!pool || pool._closed || pool._connections.length > 0 || this.#connectingAhead) return undefined;
    const resource = pool._createConnection();
    // Not handed a message while it connects: the pool would start a second connect on it.
    resource.available = false;
    const connecting = new Promise<Error | undefined>((resolve) => {
      // The pool removes a failed resource itself ('error'). A failed login closes the connection
      // before it reports the error, so the close waits a turn for it; a close before the greeting
      // says nothing, and the message opens its own connection, as the pool would requeue it.
      let failure: Error | undefined;
      resource.once('error', (error?: Error) => {
        failure ??= error;
        resolve(failure);
      });
      resource.once('close', () => setImmediate(() => resolve(failure)));
      resource.connect((error) => {
        // Available now: the pool hands it whatever is queued, then keeps it warm.
        if (!error) resource._release();
        resolve(error ?? undefined);
      });
    });
    const ahead = { ready: connecting, greeted: greetingOf(resource, connecting) };
    this.#connectingAhead = ahead;
    connecting.then(() => {
      if (this.#connectingAhead === ahead) this.#connectingAhead = undefined;
    });
    return connecting;
  }

  /**
   * While a connection opened by {@link connectAhead} is being opened: settles once the server's
   * greeting has arrived on it (or it is ready, or it failed). Undefined otherwise.
   */
  greeting(): Promise<void> | undefined {
    return this.#connectingAhead?.greeted;
  }

  /**
   * Sends one alert and says what happened to each recipient. Throws a classified {@link AlertError}
   * only when no recipient got it and one failure stands for all of them; as soon as anyone has it,
   * the others' failures are reported per recipient, so that nobody is sent it twice.
   */
  async send(
    alert: Alert,
    options: { deadlineMs: number; ahead?: ConnectionAhead },
  ): Promise<DeliveryReceipt> {
    const signal = AbortSignal.timeout(options.deadlineMs);
    const generation = this.#generation;
    let rendered: RenderedAlert | undefined;
    const message: OutgoingMessage = {
      alert,
      rendered: () => {
        rendered ??= renderAlert(alert);
        return rendered;
      },
      ...(options.ahead ? { ahead: options.ahead } : {}),
    };
    try {
      return await this.#deliver(message, alert.to, signal);
    } catch (error) {
      if (!(error instanceof AlertError) || error.failureClass !== 'auth' || signal.aborted) throw error;
      // Gmail (or Google's token endpoint) refused the credentials: they may have been rotated. Read the
      // secret again, once; only when it changed is AUTH tried again, so a wrong password never turns
      // into a login loop that ends in a "too many login attempts" lock-out.
      if (!(await this.#recoverFromRefusal(generation))) throw error;
      return await this.#deliver(message, alert.to, signal);
    }
  }

  /** Closes the pooled connections (tests and local tools; Lambda just freezes). */
  close(): void {
    this.#pool?.close();
    this.#pool = undefined;
  }

  /**
   * Gmail refuses recipients past its per-message limit (the reply table's `tooManyRecipients`): those
   * go in a further message, round after round, and each recipient ends accepted or failed exactly once.
   */
  async #deliver(message: OutgoingMessage, to: string[], signal: AbortSignal): Promise<DeliveryReceipt> {
    const receipt: DeliveryReceipt = { messageId: '', accepted: [], failed: [] };
    let pending = to;
    while (pending.length > 0) {
      let round: RoundResult;
      try {
        round = readRound(await this.#dispatch(message, pending, signal));
      } catch (error) {
        const refusals = recipientRefusals(error);
        if (!refusals) {
          const failure = this.#classify(error);
          // Nobody has it and one failure stands for all: the caller retries, parks or answers it whole.
          if (untouched(receipt)) throw failure;
          const whole = failure instanceof DeliveryError ? failure : asDeliveryError(failure);
          receipt.failed.push(...pending.map((address) => ({ address, failure: whole })));
          break;
        }
        round = refusals;
      }
      receipt.messageId ||= round.messageId;
      receipt.accepted.push(...round.accepted);
      receipt.failed.push(...round.refused);
      if (round.deferred.length === 0) break;
      if (round.deferred.length === pending.length) {
        // Gmail took none of this round's recipients, so another round would be refused the same way.
        const failure = recipientLimitError();
        if (untouched(receipt)) throw failure;
        receipt.failed.push(...round.deferred.map((address) => ({ address, failure })));
        break;
      }
      pending = round.deferred;
    }
    if (receipt.accepted.length === 0 && receipt.failed.length > 0 && sameFailure(receipt.failed)) {
      throw receipt.failed[0]?.failure;
    }
    return receipt;
  }

  /** Sends one message; a pooled connection found dead after a freeze (FIN, RST) is replaced once. */
  async #dispatch(message: OutgoingMessage, to: string[], signal: AbortSignal): Promise<SentInfo> {
    try {
      return await this.#post(message, to, signal);
    } catch (error) {
      const failure = this.#classify(error);
      const stale =
        failure instanceof DeliveryError &&
        STALE_CONNECTION_CODES.has(failure.code ?? '') &&
        !failure.responseCode;
      if (!stale || signal.aborted) throw error;
      return await this.#post(message, to, signal);
    }
  }

  /** Hands one message to the pool, composed when its connection is ready (see {@link ComposedOnDemand}). */
  #post(outgoing: OutgoingMessage, to: string[], signal: AbortSignal, again = false): Promise<SentInfo> {
    const { alert, rendered: render } = outgoing;
    // A connection asks for the envelope only once it is authenticated (or has sent AUTH), so the
    // secret, and with it the account's address, has been read.
    const sender = () => {
      const from = this.#config.alertFrom ?? this.#username;
      if (!from) throw new Error('The sender is not known before AUTH');
      return from;
    };
    const message = new ComposedOnDemand(
      to,
      sender,
      (from, messageId) => {
        const rendered = render();
        return new MailComposer({
          from: { name: 'Alerts', address: from },
          to: to.map((address) => ({ name: '', address })),
          envelope: { from, to },
          messageId,
          subject: rendered.subject,
          text: rendered.text,
          html: rendered.html,
          headers: mailHeaders(alert, rendered.priority, {
            from,
            stackName: this.#config.stackName,
            custom: this.#config.alertHeaders,
          }),
          disableFileAccess: true,
          disableUrlAccess: true,
        }).compile();
      },
      () => this.#authsUnanswered > 0,
    );
    this.#waiting.add(message);
    for (const arrived of this.#arrivals) arrived();
    const hand = () =>
      new Promise<SentInfo>((resolve, reject) => {
        this.#warmPool().send({ data: { signal }, message } as never, (error, info) => {
          this.#waiting.delete(message);
          if (error || !info) reject(error ?? new Error('No reply for the message'));
          else resolve(info as unknown as SentInfo);
        });
      });
    const sent = () =>
      hand().catch((error: unknown) => {
        if (again || !message.behindAuth) throw error;
        // The server mishandled what came behind AUTH, though AUTH went through: it answered the
        // envelope as if AUTH had not happened (read it too early), or answered nothing (dropped it).
        // Send nothing behind AUTH from now on.
        const mishandled = refusedAsUnauthenticated(error) || (message.authAccepted && timedOut(error));
        if (mishandled) this.#pipelineAuth = false;
        // Gmail's 421 to AUTH closes the connection: nothing of the message was taken. Had it waited
        // for AUTH's reply, the pool would have sent it on a new connection. Either way: again, once.
        if (mishandled || closedAtAuth(error)) return this.#post(outgoing, to, signal, true);
        throw error;
      });
    const ahead = outgoing.ahead ?? this.#connectingAhead?.ready;
    outgoing.ahead = undefined;
    if (!ahead || signal.aborted) return sent();
    // Waits for the connection opened ahead, which takes it behind AUTH (or composes it while AUTH is
    // in flight); at the deadline the pool is handed the message all the same, and fails it as aborted.
    let stopWaiting = () => {};
    const deadline = new Promise<undefined>((resolve) => {
      const onAbort = () => resolve(undefined);
      signal.addEventListener('abort', onAbort, { once: true });
      stopWaiting = () => signal.removeEventListener('abort', onAbort);
    });
    return Promise.race([ahead, deadline]).then((failure) => {
      stopWaiting();
      if (!failure) return sent();
      this.#waiting.delete(message);
      throw failure;
    });
  }

  #classify(error: unknown): AlertError {
    // Errors raised while loading the secret keep their own class (config or transient), even though
    // nodemailer reports everything that fails inside AUTH as EAUTH.
    if (error instanceof AlertError) return error;
    return classifySmtpFailure(error, this.#service);
  }

  #warmPool() {
    this.#pool ??= createPool(this.#config.smtp, (context, connection) =>
      this.#authenticate(context, connection),
    );
    return this.#pool;
  }

  #refusalOf(credentials: GmailCredentials) {
    // Nothing refused yet (every first AUTH): no fingerprint to hash between EHLO and AUTH.
    if (this.#refused.size === 0) return undefined;
    const refusal = this.#refused.get(credentialsFingerprint(credentials));
    return refusal !== undefined && refusal.until > Date.now() ? refusal : undefined;
  }

  #isRefused(credentials: GmailCredentials): boolean {
    return this.#refusalOf(credentials) !== undefined;
  }

  /** Remembers refused credentials for SECRET_CACHE_SECONDS, so they are not sent again meanwhile. */
  #remember(credentials: GmailCredentials, error: () => AlertError): void {
    const until = Date.now() + this.#config.secretCacheSeconds * 1000;
    this.#refused.set(credentialsFingerprint(credentials), { until, error });
  }

  /** Composes the waiting messages once AUTH is on the wire, so their CPU overlaps its round trip. */
  #prepareWaiting(): void {
    // nodemailer writes the command on the next turn of the loop; compose once it is on the wire.
    setImmediate(() => {
      for (const message of this.#waiting) message.prepare();
    });
  }

  async #authenticate(context: AuthContext, connection: SmtpConnectionInternals | undefined): Promise<void> {
    const credentials = await this.#credentials();
    this.#username = credentials.username;
    const refusal = this.#refusalOf(credentials);
    if (refusal) throw refusal.error();
    if (isOAuthCredentials(credentials)) return this.#authenticateWithToken(context, credentials);
    await this.#authenticateWithPassword(context, credentials, connection);
  }

  /**
   * AUTH PLAIN. When a message is waiting, or is handed over before AUTH's reply, and the server
   * offers PIPELINING, its envelope follows AUTH in the same flight instead of a round trip later
   * (RFC 4954 §4 allows exactly this for PLAIN with an initial response): the connection counts as
   * authenticated once AUTH is on the wire, and AUTH's reply is read when it comes
   * ({@link settlePipelinedAuth}). XOAUTH2 is never pipelined: Gmail
   * answers a refused token with a challenge that the next line would answer.
   */
  async #authenticateWithPassword(
    context: AuthContext,
    credentials: AppPasswordCredentials,
    connection: SmtpConnectionInternals | undefined,
  ): Promise<void> {
    let onReply: ((reply: AuthReply) => void) | undefined;
    const replied = new Promise<AuthReply>((resolve) => {
      context.sendCommand(`AUTH PLAIN ${authPlainToken(credentials)}`, (_error, reply) => {
        onReply?.(reply);
        resolve(reply);
      });
    });
    const pipelining = connection && this.#pipelineAuth && context.extensions.includes('PIPELINING');
    if (pipelining && (await this.#messageBefore(replied, connection))) {
      this.#authsUnanswered += 1;
      let answered = false;
      const answer = (reply?: AuthReply) => {
        if (answered) return;
        answered = true;
        this.#authsUnanswered -= 1;
        connection.removeListener('end', closed);
        if (reply) this.#settlePipelinedAuth(reply, credentials, connection);
      };
      const closed = () => answer();
      connection.once('end', closed);
      onReply = answer;
      // nodemailer writes AUTH on the next turn of the loop: the envelope must follow it, not pass it.
      // The message is composed once its envelope is on the wire (ComposedOnDemand.createReadStream).
      await new Promise((resolve) => setImmediate(resolve));
      return;
    }
    this.#prepareWaiting();
    const reply = await replied;
    if (replyCode(reply) === 235) return;
    this.#rememberRefusal(reply, credentials);
    // nodemailer attaches the server's reply (code, response) to this error.
    throw new Error('Gmail refused AUTH');
  }

  /**
   * Whether a message is waiting now or is handed over before `replied` settles: on a cold container,
   * the state table's round often decides to mail the alert while AUTH is on its way.
   */
  #messageBefore(replied: Promise<unknown>, connection: SmtpConnectionInternals): Promise<boolean> {
    if (this.#waiting.size > 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const settle = (arrived: boolean) => () => {
        this.#arrivals.delete(onArrival);
        connection.removeListener('end', onClose);
        resolve(arrived);
      };
      const onArrival = settle(true);
      // A connection closed before AUTH's reply never gets one.
      const onClose = settle(false);
      this.#arrivals.add(onArrival);
      connection.once('end', onClose);
      replied.then(settle(false));
    });
  }

  /**
   * AUTH's reply on a connection that went on without it, read before the replies after it. A refusal
   * fails the message sent behind it with the error AUTH would have raised (the replies to its
   * envelope refuse it as unauthenticated) and closes the connection, so nothing else is sent on it.
   */
  #settlePipelinedAuth(
    reply: { response: string },
    credentials: AppPasswordCredentials,
    connection: SmtpConnectionInternals,
  ): void {
    if (replyCode(reply) === 235) {
      const stream = connection._pendingSend ? connection._pendingSend.stream : undefined;
      for (const message of this.#waiting) if (message.reads(stream)) message.authAccepted = true;
      return;
    }
    this.#rememberRefusal(reply, credentials);
    const error = connection._formatError(
      new Error('Gmail refused AUTH'),
      'EAUTH',
      reply.response,
      'AUTH PLAIN',
    );
    const pending = connection._pendingSend;
    // The pool closes a connection whose message failed at AUTH; without a message, close it here.
    if (pending) pending.callback(error);
    else connection.close();
  }

  /** A refusal of the credentials themselves is remembered, so that they are not sent again meanwhile. */
  #rememberRefusal(reply: { response: string }, credentials: AppPasswordCredentials): void {
    if (isCredentialRefusal(replyCode(reply), this.#service)) {
      this.#remember(credentials, () => repeatedRefusalError());
    }
  }

  /**
   * AUTH XOAUTH2 with the cached access token. A refused token may have expired or been revoked
   * early: one fresh token is asked for and tried, then the refusal stands, classified for OAuth.
   */
  async #authenticateWithToken(context: AuthContext, credentials: OAuthCredentials): Promise<void> {
    const kind = credentialsKind(credentials) as OAuthKind;
    for (const fresh of [false, true]) {
      let accessToken: string;
      try {
        accessToken = await this.#tokens.get(credentials, { fresh });
      } catch (error) {
        if (error instanceof TokenRequestError && error.failureClass === 'auth') {
          const { message, failureClass, advice, oauthError, status } = error;
          this.#remember(
            credentials,
            () => new TokenRequestError(message, failureClass, advice, { oauthError, status }),
          );
        }
        throw error;
      }
      const replied = sendXOAuth2(context, credentials.username, accessToken);
      this.#prepareWaiting();
      const reply = await replied;
      if (reply.code === 235) return;
      // 454 and the like refuse the moment, not the token: nodemailer attaches the reply to this error.
      if (!isCredentialRefusal(reply.code, this.#service)) throw new Error('Gmail refused AUTH');
      if (fresh) {
        const enhanced = enhancedStatusOf(reply.response);
        this.#remember(credentials, () => repeatedRefusalError(kind));
        throw accessTokenRefusalError(kind, reply.code, enhanced);
      }
    }
  }

  async #recoverFromRefusal(generation: number): Promise<boolean> {
    const fresh = await this.#freshCredentials();
    if (this.#isRefused(fresh)) return false;
    if (generation === this.#generation) {
      this.#generation++;
      this.#pool?.close();
      this.#pool = undefined;
    }
    return true;
  }
}

/** One message's outcome per recipient: `deferred` ones were past the per-message limit, for another message. */
interface RoundResult {
  messageId: string;
  accepted: string[];
  refused: RecipientFailure[];
  deferred: string[];
}

/** Sorts one message's per-recipient replies into accepted, refused and deferred. */
function roundOf(messageId: string, accepted: unknown[], rejectedErrors: RecipientReplyError[]): RoundResult {
  const round: RoundResult = { messageId, accepted: accepted.map(String), refused: [], deferred: [] };
  for (const error of rejectedErrors) {
    const address = String(error.recipient ?? '');
    if (isRecipientLimitReply(error.responseCode, enhancedStatusOf(error.response ?? '')))
      round.deferred.push(address);
    else round.refused.push({ address, failure: classifySmtpFailure(error) });
  }
  return round;
}

function readRound(info: SentInfo): RoundResult {
  return roundOf(info.messageId, info.accepted, info.rejectedErrors ?? []);
}

/** The per-recipient replies of an error that refused every recipient at RCPT, if that is what it is. */
function recipientRefusals(error: unknown): RoundResult | undefined {
  const rejectedErrors = (error as { rejectedErrors?: RecipientReplyError[] } | null)?.rejectedErrors;
  if (!Array.isArray(rejectedErrors) || rejectedErrors.length === 0) return undefined;
  return roundOf('', [], rejectedErrors);
}

/** No recipient has been settled yet, so a failure can still be reported for the alert as a whole. */
function untouched(receipt: DeliveryReceipt): boolean {
  return receipt.accepted.length === 0 && receipt.failed.length === 0;
}

function sameFailure(failed: RecipientFailure[]): boolean {
  const [first] = failed;
  return failed.every(
    ({ failure }) =>
      failure === first?.failure ||
      (failure.failureClass === first?.failure.failureClass &&
        failure.responseCode === first.failure.responseCode),
  );
}

function asDeliveryError(error: AlertError): DeliveryError {
  return new DeliveryError(error.message, error.failureClass, error.advice, {}, { cause: error });
}

/**
 * Settles when the connection of `resource` has received the server's greeting, or `connecting` has
 * settled (ready or failed). nodemailer says nothing at the greeting, so its greeting step is
 * wrapped; a connection of another shape settles with `connecting` only.
 */
function greetingOf(resource: PoolResource, connecting: ConnectionAhead): Promise<void> {
  return new Promise<void>((resolve) => {
    connecting.then(() => resolve());
    const connection = resource.connection;
    const greet = connection?._actionGreeting;
    if (!connection || typeof greet !== 'function') return;
    connection._actionGreeting = function (this: unknown, reply: string) {
      resolve();
      return greet.call(this, reply);
    };
  });
}

/** No reply within SMTP_TIMEOUT_MS: the socket went silent. */
function timedOut(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ETIMEDOUT';
}

/** AUTH answered with 421: the server closes the connection (Gmail: "4.7.0 Try again later"). */
function closedAtAuth(error: unknown): boolean {
  const { command, responseCode } = (error ?? {}) as { command?: unknown; responseCode?: unknown };
  return command === 'AUTH PLAIN' && responseCode === 421;
}

/** MAIL FROM refused as unauthenticated: after a 235, the server read the envelope before AUTH had finished. */
function refusedAsUnauthenticated(error: unknown): boolean {
  const { command, responseCode, response } = (error ?? {}) as Partial<RecipientReplyError> & {
    command?: unknown;
  };
  return command === 'MAIL FROM' && isUnauthenticatedReply(responseCode, response ?? '');
}

/** Makes concurrent callers of `load` share one request while it is in flight, and only then. */
function sharedWhileInFlight<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending) {
      const current = load();
      pending = current;
      const clear = () => {
        if (pending === current) pending = undefined;
      };
      current.then(clear, clear);
    }
    return pending;
  };
}
