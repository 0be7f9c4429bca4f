import { once } from 'node:events';
import type { Socket } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import { GmailSmtpServer } from './gmail-dialect.ts';
import { type GmailReply, gmailReplies, xoauth2Challenge } from './gmail-replies.ts';
import { loadTestServerTls } from './tls.ts';

/** The account the Gmail-like server accepts unless told otherwise: a Workspace address and an App Password. */
export const testGmailAccount = { user: 'alerts@example.com', pass: 'abcdefghijklmnop' } as const;

/** Gmail's advertised SIZE limit in bytes (the EHLO value of smtp.gmail.com). */
export const gmailMaxSize = 35_882_577;

export type SmtpStage = 'greeting' | 'auth' | 'mail' | 'rcpt' | 'data';

/** A reply to give instead of the normal one at `at`, for the next `times` (default 1) times. */
export interface SmtpFault {
  at: SmtpStage;
  code: number;
  /** Reply text; defaults to the first of {@link gmailReplies} with this `code` (e.g. 550 → 5.4.5). */
  message?: string;
  times?: number;
}

export interface ReceivedMessage {
  envelope: { from: string; to: string[] };
  /** The account that authenticated the session. */
  user: string;
  parsed: ParsedMail;
  raw: Buffer;
  /** When its last byte arrived (epoch ms, sub-millisecond: `performance.timeOrigin + performance.now()`). */
  receivedAt: number;
}

export interface GmailServerStats {
  /** TCP connections accepted. */
  connections: number;
  /** STARTTLS upgrades plus implicit-TLS handshakes that completed. */
  tlsHandshakes: number;
  authAttempts: number;
  authSuccesses: number;
  /** Of the successes, those with AUTH XOAUTH2 (an OAuth access token). */
  oauthLogins: number;
  /** Messages accepted with 250. */
  messages: number;
}

export interface GmailServerOptions {
  /** Username → App Password (compared exactly, so spaces are not stripped). */
  users?: Record<string, string>;
  /** Implicit TLS from the first byte, as on port 465; otherwise plaintext plus STARTTLS, as on 587. */
  secure?: boolean;
  /** Certificate and key; default: the CA-signed `localhost` pair from the global setup. */
  tls?: { cert: string; key: string };
  /**
   * `false` neither offers nor accepts STARTTLS (a stripped or misconfigured server). AUTH is then
   * offered in plaintext, so a client that does not insist on TLS sends its password in clear.
   */
  offerStartTls?: boolean;
  size?: number;
  /** RCPT beyond this many in one transaction gets `452 4.5.3` (Gmail: 100 over SMTP). */
  maxRecipients?: number;
  /**
   * Accepts AUTH XOAUTH2 with access tokens this says are valid for the user (a local token
   * endpoint's `userOf`); without it every XOAUTH2 login is refused, as Gmail refuses unknown tokens.
   */
  oauth?: { userOf(accessToken: string): string | undefined };
  /** Called for every accepted message before the 250 is sent; a throw becomes a `451 4.3.0`. */
  onMessage?: (message: ReceivedMessage) => void | Promise<void>;
  host?: string;
  port?: number;
}

export interface GmailServer {
  readonly host: string;
  readonly port: number;
  /** Implicit TLS (as on 465) rather than STARTTLS (as on 587). */
  readonly secure: boolean;
  /** `smtp://host:port` or `smtps://host:port`. */
  readonly url: string;
  readonly stats: GmailServerStats;
  readonly messages: ReceivedMessage[];
  /** Connections open right now. */
  readonly openConnections: number;
  /** Errors smtp-server reported (client resets, failed handshakes), kept for diagnosis. */
  readonly errors: Error[];
  /** Queues a fault; faults for the same stage are used in the order they were queued. */
  failNext(fault: SmtpFault): void;
  /** The next `times` (default 1) commands at `at` get no reply at all: the server goes silent, the connection stays open. */
  answerNothing(at: SmtpStage, times?: number): void;
  /**
   * Refuses RCPT TO `address` (compared without regard to case) with `reply`, e.g. Gmail's 550 5.1.1
   * or 450 4.2.1, the next `times` times (default: every time), while other recipients are accepted.
   */
  failRecipient(address: string, reply: GmailReply, times?: number): void;
  /** Closes every open client connection: `fin` ends it cleanly, `rst` resets it (a NAT that forgot the flow). */
  dropConnections(mode: 'fin' | 'rst'): void;
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  close(): Promise<void>;
}

const replyError = (reply: GmailReply) =>
  Object.assign(new Error(reply.message), { responseCode: reply.code });

const defaultMessage = (code: number) =>
  Object.values(gmailReplies).find((reply) => reply.code === code)?.message ?? 'Error: injected fault';

/**
 * Starts an SMTP server on loopback that behaves like smtp.gmail.com:587 (or :465 with `secure`):
 * STARTTLS before AUTH, AUTH before MAIL, App Password check, Gmail's reply codes and wording, and a
 * fault plan for the failures the product must classify. Every accepted message is parsed and kept.
 */
export async function startGmailServer(options: GmailServerOptions = {}): Promise<GmailServer> {
  const users = options.users ?? { [testGmailAccount.user]: testGmailAccount.pass };
  const maxRecipients = options.maxRecipients ?? Number.POSITIVE_INFINITY;
  const stats: GmailServerStats = {
    connections: 0,
    tlsHandshakes: 0,
    authAttempts: 0,
    authSuccesses: 0,
    oauthLogins: 0,
    messages: 0,
  };
  const messages: ReceivedMessage[] = [];
  const errors: Error[] = [];
  const faults: Required<SmtpFault>[] = [];
  const recipientFaults = new Map<string, { reply: GmailReply; times: number }>();
  const silences = new Map<SmtpStage, number>();
  const sockets = new Set<Socket>();
  const waiters = new Set<() => void>();

  const takeFault = (stage: SmtpStage) => {
    const index = faults.findIndex((fault) => fault.at === stage);
    const fault = faults[index];
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) faults.splice(index, 1);
    return replyError(fault);
  };

  /** Whether the command at `stage` goes unanswered this time. */
  const takeSilence = (stage: SmtpStage) => {
    const left = silences.get(stage) ?? 0;
    if (left <= 0) return false;
    silences.set(stage, left - 1);
    return true;
  };

  const takeRecipientFault = (address: string) => {
    const key = address.toLowerCase();
    const fault = recipientFaults.get(key);
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) recipientFaults.delete(key);
    return replyError(fault.reply);
  };

  const accept = async (stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    if (stream.sizeExceeded) throw replyError(gmailReplies.messageTooBig);
    const receivedAt = performance.timeOrigin + performance.now();
    const raw = Buffer.concat(chunks);
    const { mailFrom, rcptTo } = session.envelope;
    const message: ReceivedMessage = {
      receivedAt,
      envelope: { from: mailFrom ? mailFrom.address : '', to: rcptTo.map((rcpt) => rcpt.address) },
      user: session.user,
      parsed: await simpleParser(raw),
      raw,
    };
    try {
      await options.onMessage?.(message);
    } catch (cause) {
      throw Object.assign(new Error('4.3.0 Mail server temporarily rejected message.', { cause }), {
        responseCode: 451,
      });
    }
    messages.push(message);
    stats.messages += 1;
    for (const wake of waiters) wake();
    return `2.0.0 OK  ${Math.floor(Date.now() / 1000)} gsmtp`;
  };

  const smtp = new GmailSmtpServer({
    ...(options.tls ?? loadTestServerTls()),
    secure: options.secure ?? false,
    name: 'smtp.gmail.com',
    banner: 'gsmtp',
    heloResponse: '%s at your service, %s',
    size: options.size ?? gmailMaxSize,
    authMethods: ['LOGIN', 'PLAIN', 'XOAUTH2'],
    authRequiredMessage: gmailReplies.authenticationRequired.message,
    hideENHANCEDSTATUSCODES: false,
    disabledCommands: options.offerStartTls === false ? ['STARTTLS'] : [],
    disableReverseLookup: true,
    logger: false,
    onConnect(_session, callback) {
      if (takeSilence('greeting')) return;
      callback(takeFault('greeting'));
    },
    onSecure(_socket, _session, callback) {
      stats.tlsHandshakes += 1;
      callback();
    },
    onAuth(auth, _session, callback) {
      stats.authAttempts += 1;
      if (takeSilence('auth')) return;
      const fault = takeFault('auth');
      if (fault) return callback(fault);
      const username = auth.username ?? '';
      if (auth.method === 'XOAUTH2') {
        if (options.oauth?.userOf(auth.accessToken ?? '')?.toLowerCase() !== username.toLowerCase()) {
          // Gmail's refusal of a token: 334 with this JSON in base64, then 535 5.7.8 after the client's empty line.
          return callback(null, { data: xoauth2Challenge });
        }
        stats.authSuccesses += 1;
        stats.oauthLogins += 1;
        return callback(null, { user: username });
      }
      if (!Object.hasOwn(users, username) || users[username] !== auth.password) {
        return callback(replyError(gmailReplies.badCredentials));
      }
      stats.authSuccesses += 1;
      callback(null, { user: username });
    },
    onMailFrom(_address, _session, callback) {
      if (takeSilence('mail')) return;
      callback(takeFault('mail'));
    },
    onRcptTo(address, session, callback) {
      if (takeSilence('rcpt')) return;
      if (session.envelope.rcptTo.length >= maxRecipients)
        return callback(replyError(gmailReplies.tooManyRecipients));
      callback(takeRecipientFault(address.address) ?? takeFault('rcpt'));
    },
    onData(stream, session, callback) {
      if (takeSilence('data')) return;
      const fault = takeFault('data');
      if (fault) return callback(fault);
      accept(stream, session).then(
        (reply) => callback(null, reply),
        (err: Error) => callback(err),
      );
    },
  });
  smtp.on('error', (err) => errors.push(err));
  smtp.server.on('connection', (socket: Socket) => {
    stats.connections += 1;
    sockets.add(socket);
  });
  // smtp-server removes all listeners from the TCP socket when it starts TLS on it, so a 'close'
  // listener cannot be relied on: closed sockets are pruned on read instead.
  const openSockets = () => {
    for (const socket of sockets) if (socket.destroyed) sockets.delete(socket);
    return sockets;
  };

  const host = options.host ?? '127.0.0.1';
  smtp.listen(options.port ?? 0, host);
  await once(smtp.server, 'listening');
  const address = smtp.server.address();
  if (!address || typeof address === 'string') throw new Error('Gmail-like server has no TCP address');
  const port = address.port;

  return {
    host,
    port,
    secure: options.secure ?? false,
    url: `${options.secure ? 'smtps' : 'smtp'}://${host}:${port}`,
    stats,
    messages,
    errors,
    get openConnections() {
      return openSockets().size;
    },
    failNext(fault) {
      faults.push({
        ...fault,
        message: fault.message ?? defaultMessage(fault.code),
        times: fault.times ?? 1,
      });
    },
    answerNothing(at, times = 1) {
      silences.set(at, (silences.get(at) ?? 0) + times);
    },
    failRecipient(address, reply, times = Number.POSITIVE_INFINITY) {
      recipientFaults.set(address.toLowerCase(), { reply, times });
    },
    dropConnections(mode) {
      if (mode === 'rst') {
        for (const socket of openSockets()) socket.resetAndDestroy();
        return;
      }
      // Through the SMTP connection, so a TLS session ends with close_notify before the FIN.
      for (const connection of smtp.connections) connection.close();
    },
    waitForMessages(count, timeoutMs = 5_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (messages.length < count) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(messages.slice());
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`expected ${count} message(s) within ${timeoutMs} ms, got ${messages.length}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}
