import { lookup } from 'node:dns/promises';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import { isCertificateError } from '../core/classify.ts';
import { withoutEnhancedStatus } from '../core/gmail-replies.ts';

/** An SMTP reply: the code and its lines of text joined (enhanced status code kept once). */
export interface SmtpReply {
  code: number;
  /** `220 2.0.0 Ready to start TLS`: the code, then the lines' text. */
  text: string;
  /** Text lines without the code, as EHLO lists its capabilities. */
  lines: string[];
}

/** A network step did not finish in time. `code` is `ETIMEDOUT`, like Node's own socket errors. */
export class ProbeTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';

  constructor(what: string, timeoutMs: number) {
    super(`${what} did not finish within ${timeoutMs} ms`);
    this.name = 'ProbeTimeoutError';
  }
}

/** Rejects with a {@link ProbeTimeoutError} when `promise` has not settled within `timeoutMs`. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeoutError(what, timeoutMs)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Resolves a host name to its addresses (an IP literal is returned as it is). */
export async function resolveHost(host: string, timeoutMs: number): Promise<string[]> {
  if (isIP(host)) return [host];
  const found = await withTimeout(lookup(host, { all: true }), timeoutMs, `DNS lookup of ${host}`);
  return found.map((entry) => entry.address);
}

/**
 * Resolves with `socket` once it emits `ready` ('connect' or 'secureConnect'); on an error or after
 * `timeoutMs` it destroys the socket and rejects. A settled socket keeps a no-op error listener, so a
 * late error cannot end the process.
 */
function settle<T extends Socket>(socket: T, ready: string, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ProbeTimeoutError(what, timeoutMs));
    }, timeoutMs);
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
  });
}

/** Opens a TCP connection, or fails with the socket's error code (`ECONNREFUSED`, `ETIMEDOUT`, …). */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return settle(tcpConnect({ host, port }), 'connect', timeoutMs, `TCP connect to ${host}:${port}`);
}

/**
 * Starts TLS over `socket` (STARTTLS) or over a fresh connection (implicit TLS), verifying the
 * certificate against `host` the standard way. Verification is never switched off: a failure here is
 * the answer the doctor reports.
 */
export function startTls(
  target: { host: string; port: number; socket?: Socket },
  timeoutMs: number,
): Promise<TLSSocket> {
  const tls = tlsConnect({
    ...(target.socket ? { socket: target.socket } : { port: target.port }),
    host: target.host,
    // SNI must be a name, never an IP literal.
    ...(isIP(target.host) ? {} : { servername: target.host }),
    minVersion: 'TLSv1.2',
  });
  return settle(tls, 'secureConnect', timeoutMs, `TLS handshake with ${target.host}:${target.port}`);
}

/**
 * One SMTP conversation, command by command, on a plain or TLS socket. Only what the doctor needs:
 * read a reply (multi-line aware), send a command, and move onto TLS after STARTTLS.
 */
export class SmtpProbe {
  #socket: Socket;
  #buffer = '';
  #pendingLines: string[] = [];
  #replies: SmtpReply[] = [];
  #waiter: { resolve: (reply: SmtpReply) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  readonly #onData = (chunk: Buffer) => this.#receive(chunk.toString('latin1'));
  readonly #onEnd = () =>
    this.#fail(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' }));
  readonly #onError = (error: Error) => this.#fail(error);

  constructor(socket: Socket) {
    this.#socket = socket;
    this.#attach();
  }

  get socket(): Socket {
    return this.#socket;
  }

  /** The next reply, or a {@link ProbeTimeoutError} when the server stays silent. */
  read(timeoutMs: number, what = 'SMTP reply'): Promise<SmtpReply> {
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    if (this.#failure) return Promise.reject(this.#failure);
    const reply = new Promise<SmtpReply>((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
    return withTimeout(reply, timeoutMs, what).finally(() => {
      this.#waiter = undefined;
    });
  }

  /** Sends one command line and reads its reply. */
  command(line: string, timeoutMs: number): Promise<SmtpReply> {
    this.#socket.write(`${line}\r\n`);
    return this.read(timeoutMs, `reply to ${line.split(' ')[0]}`);
  }

  /** Hands the socket to TLS (after `220` to STARTTLS) and continues the conversation on it. */
  async upgrade(host: string, port: number, timeoutMs: number): Promise<TLSSocket> {
    this.#detach();
    const tls = await startTls({ host, port, socket: this.#socket }, timeoutMs);
    this.#socket = tls;
    this.#buffer = '';
    this.#attach();
    return tls;
  }

  /** Says QUIT (without waiting) and closes. */
  close(): void {
    this.#detach();
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.end('QUIT\r\n');
    this.#socket.destroy();
  }

  #attach(): void {
    this.#socket.on('data', this.#onData);
    this.#socket.on('end', this.#onEnd);
    this.#socket.on('error', this.#onError);
  }

  #detach(): void {
    this.#socket.off('data', this.#onData);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('error', this.#onError);
    this.#socket.on('error', () => {});
  }

  #receive(text: string): void {
    this.#buffer += text;
    let newline = this.#buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(newline + 1);
      this.#pendingLines.push(line);
      // `250-…` continues a reply, `250 …` (or a bare `250`) ends it.
      if (/^\d{3}(?: |$)/.test(line)) this.#complete();
      newline = this.#buffer.indexOf('\n');
    }
  }

  #complete(): void {
    const lines = this.#pendingLines.map((line) => line.slice(4));
    const code = Number(this.#pendingLines.at(-1)?.slice(0, 3));
    this.#pendingLines = [];
    const first = lines[0] ?? '';
    const rest = lines.slice(1).map(withoutEnhancedStatus);
    const text = `${code} ${[first, ...rest].join(' ')}`.replace(/\s+/g, ' ').trim();
    const reply = { code, text, lines };
    if (this.#waiter) this.#waiter.resolve(reply);
    else this.#replies.push(reply);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#waiter?.reject(error);
  }
}

/**
 * Connects in plain text and reads what the server says first, if anything: tells a STARTTLS port
 * (greets at once, like 587) from an implicit-TLS port (silent until the TLS handshake, like 465).
 */
export async function readPlainGreeting(
  host: string,
  port: number,
  timeoutMs: number,
): Promise<SmtpReply | undefined> {
  let probe: SmtpProbe | undefined;
  try {
    probe = new SmtpProbe(await connectTcp(host, port, timeoutMs));
    return await probe.read(timeoutMs, 'greeting');
  } catch {
    return undefined;
  } finally {
    probe?.socket.destroy();
  }
}

/** Whether the port answers a TLS handshake from the first byte (implicit TLS, like 465). */
export async function speaksImplicitTls(host: string, port: number, timeoutMs: number): Promise<boolean> {
  try {
    (await startTls({ host, port }, timeoutMs)).destroy();
    return true;
  } catch (error) {
    // An unacceptable certificate still proves the port speaks TLS.
    return isCertificateError(error);
  }
}
