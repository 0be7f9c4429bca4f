import Mail from 'nodemailer/lib/mailer';
import SMTPPool, { type SMTPPoolOptions } from 'nodemailer/lib/smtp-pool';
import type { Alert } from './alert.ts';
import { classifySmtpFailure, repeatedRefusalError, STALE_CONNECTION_CODES } from './classify.ts';
import type { AlertConfig } from './config.ts';
import { AlertError, DeliveryError } from './errors.ts';
import {
  authPlainToken,
  fetchGmailCredentials,
  type GmailCredentials,
  passwordFingerprint,
} from './gmail-credentials.ts';
import { ADVICE, isCredentialRefusal } from './gmail-replies.ts';
import { renderAlert } from './render.ts';

/** What Gmail accepted. */
export interface DeliveryReceipt {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** Reads the Gmail credentials; `forceFetch` bypasses any cache (used after Gmail refused them). */
export type CredentialsLoader = (options: { forceFetch: boolean }) => Promise<GmailCredentials>;

type PooledTransport = ReturnType<typeof createPooledTransport>;

interface AuthContext {
  sendCommand(command: string): Promise<{ status: number; response: string }>;
}

function createPooledTransport(
  smtp: AlertConfig['smtp'],
  authenticate: (context: AuthContext) => Promise<void>,
) {
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
    auth: { user: 'gmail-secret', method: 'PLAIN' },
    customAuth: { PLAIN: (context: AuthContext) => authenticate(context) },
  };
  // What createTransport({ pool: true, … }) builds, without loading nodemailer's entry point: that
  // one also loads the sendmail, SES, JSON and stream transports (and child_process) on every cold start.
  return new Mail(new SMTPPool(options), options);
}

/**
 * One warm, pooled Gmail SMTP transport per container, with the credentials from Secrets Manager.
 * Survives between invocations at module scope; see {@link initRuntime}.
 */
export class GmailSender {
  readonly #config: AlertConfig;
  readonly #loadCredentials: CredentialsLoader;
  #transport: PooledTransport | undefined;
  #generation = 0;
  #pendingCredentials: Promise<GmailCredentials> | undefined;
  #pendingRefresh: Promise<GmailCredentials> | undefined;
  /** Fingerprints of credentials Gmail refused, with when the refusal stops counting. */
  readonly #refused = new Map<string, number>();

  /** `loadCredentials` defaults to the secret `config.secretId`; local tools pass their own. */
  constructor(config: AlertConfig, loadCredentials?: CredentialsLoader) {
    this.#config = config;
    this.#loadCredentials =
      loadCredentials ??
      (({ forceFetch }) =>
        fetchGmailCredentials(config.secretId, { maxAgeSeconds: config.secretCacheSeconds, forceFetch }));
  }

  /** Starts the secret fetch now (Lambda's init phase) so the first alert does not wait for it. */
  prefetchCredentials(): void {
    this.#credentials().catch(() => {
      // Reported by the first send that needs the credentials.
    });
  }

  /** Sends one alert; throws a classified {@link AlertError} when it cannot be delivered. */
  async send(alert: Alert, options: { deadlineMs: number }): Promise<DeliveryReceipt> {
    const signal = AbortSignal.timeout(options.deadlineMs);
    const generation = this.#generation;
    try {
      return await this.#sendOnce(alert, signal);
    } catch (error) {
      if (!(error instanceof DeliveryError) || error.failureClass !== 'auth' || signal.aborted) throw error;
      // Gmail refused the password: it may have been rotated. Read the secret again, once; only when
      // it changed is AUTH tried again, so a wrong password never turns into a login loop (454 lock-out).
      if (!(await this.#recoverFromRefusal(generation))) throw error;
      return await this.#sendOnce(alert, signal);
    }
  }

  /** Closes the pooled connections (tests and local tools; Lambda just freezes). */
  close(): void {
    this.#transport?.close();
    this.#transport = undefined;
  }

  async #sendOnce(alert: Alert, signal: AbortSignal): Promise<DeliveryReceipt> {
    const from = this.#config.alertFrom ?? (await this.#credentials()).username;
    const rendered = renderAlert(alert);
    const attempt = async (to: string[]) => {
      const mail = {
        from: { name: 'Alerts', address: from },
        to: to.map((address) => ({ name: '', address })),
        envelope: { from, to },
        subject: rendered.subject,
        text: rendered.text,
        html: rendered.html,
        headers: rendered.headers,
        priority: rendered.priority,
        disableFileAccess: true,
        disableUrlAccess: true,
        signal,
      };
      try {
        return await this.#warmTransport().sendMail(mail);
      } catch (error) {
        const failure = this.#classify(error);
        const stale =
          failure instanceof DeliveryError &&
          STALE_CONNECTION_CODES.has(failure.code ?? '') &&
          !failure.responseCode;
        if (!stale || signal.aborted) {
          throw failure;
        }
        // A pooled connection closed (FIN) or reset (RST) while the container was frozen: reconnect, once.
        try {
          return await this.#warmTransport().sendMail(mail);
        } catch (retryError) {
          throw this.#classify(retryError);
        }
      }
    };

    const accepted: string[] = [];
    const rejected: string[] = [];
    let messageId = '';
    let pending = alert.to;
    // Gmail answers 452 4.5.3 to recipients past its per-message limit: send those in a further message.
    for (let round = 0; pending.length > 0 && round <= alert.to.length; round++) {
      const info = await attempt(pending);
      messageId ||= info.messageId;
      accepted.push(...info.accepted.map(String));
      const tooMany = new Set(
        (info.rejectedErrors ?? [])
          .filter((error) => error.responseCode === 452)
          .map((error) => String((error as { recipient?: unknown }).recipient ?? '')),
      );
      const retryable = info.rejected.map(String).filter((address) => tooMany.has(address));
      rejected.push(...info.rejected.map(String).filter((address) => !tooMany.has(address)));
      if (retryable.length === pending.length) {
        throw new DeliveryError(
          'Gmail accepted none of the recipients (452 4.5.3)',
          'transient',
          ADVICE.tooManyRecipients,
          {
            code: 'EENVELOPE',
            responseCode: 452,
          },
        );
      }
      pending = retryable;
    }
    return { messageId, accepted, rejected };
  }

  #classify(error: unknown): AlertError {
    // Errors raised while loading the secret keep their own class (config or transient), even though
    // nodemailer reports everything that fails inside AUTH as EAUTH.
    if (error instanceof AlertError) return error;
    return classifySmtpFailure(error);
  }

  #warmTransport(): PooledTransport {
    if (!this.#transport) {
      this.#transport = createPooledTransport(this.#config.smtp, (context) => this.#authenticate(context));
      // Failures reach the caller through sendMail; an unhandled 'error' event would end the process.
      this.#transport.on('error', () => {});
    }
    return this.#transport;
  }

  #credentials(): Promise<GmailCredentials> {
    if (!this.#pendingCredentials) {
      const pending = this.#loadCredentials({ forceFetch: false });
      this.#pendingCredentials = pending;
      // Powertools keeps the value for maxAge; this only makes concurrent callers share one request.
      const clear = () => {
        if (this.#pendingCredentials === pending) this.#pendingCredentials = undefined;
      };
      pending.then(clear, clear);
    }
    return this.#pendingCredentials;
  }

  #isRefused(credentials: GmailCredentials): boolean {
    const until = this.#refused.get(passwordFingerprint(credentials));
    return until !== undefined && until > Date.now();
  }

  async #authenticate(context: AuthContext): Promise<void> {
    const credentials = await this.#credentials();
    if (this.#isRefused(credentials)) {
      throw repeatedRefusalError();
    }
    const reply = await context.sendCommand(`AUTH PLAIN ${authPlainToken(credentials)}`);
    // nodemailer leaves `status` at 0 for multi-line replies, which is how Gmail refuses.
    const status = Number(reply.response.slice(0, 3));
    if (status === 235) return;
    if (isCredentialRefusal(status)) {
      this.#refused.set(
        passwordFingerprint(credentials),
        Date.now() + this.#config.secretCacheSeconds * 1000,
      );
    }
    // nodemailer attaches the server's reply (code, response) to this error.
    throw new Error('Gmail refused AUTH');
  }

  async #recoverFromRefusal(generation: number): Promise<boolean> {
    if (!this.#pendingRefresh) {
      const pending = this.#loadCredentials({ forceFetch: true });
      this.#pendingRefresh = pending;
      const clear = () => {
        if (this.#pendingRefresh === pending) this.#pendingRefresh = undefined;
      };
      pending.then(clear, clear);
    }
    const fresh = await this.#pendingRefresh;
    if (this.#isRefused(fresh)) return false;
    if (generation === this.#generation) {
      this.#generation++;
      this.#transport?.close();
      this.#transport = undefined;
    }
    return true;
  }
}
