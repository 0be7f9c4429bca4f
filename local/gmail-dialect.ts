import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { SMTPServer } from 'smtp-server';
import { SMTPConnection, type SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import { gmailReplies } from './gmail-replies.ts';

const enhancedStatusCode = /^\d\.\d{1,3}\.\d{1,3} /;

/**
 * An smtp-server connection that answers the way smtp.gmail.com does where smtp-server's public
 * options cannot: AUTH is advertised only after STARTTLS, AUTH or MAIL before STARTTLS get
 * `530 5.7.0 Must issue a STARTTLS command first` (smtp-server says 538 or "authentication required"),
 * a message over SIZE gets Gmail's 552 5.3.4, a refused XOAUTH2 token Gmail's 535 5.7.8, replies whose text starts with an enhanced status code go
 * out as written, multi-line where the text has several lines (smtp-server's handler API only sends
 * single lines), and the greeting is sent at once. Built on smtp-server 3.21 internals (`send`, `init`,
 * `_setListeners`, all declared in its types), pinned by the lock file.
 */
export class GmailConnection extends SMTPConnection {
  override init(): void {
    // smtp-server holds the greeting back 100 ms to catch clients that talk too soon. Gmail does not,
    // and a latency benchmark through the test server must not count a delay Gmail does not have.
    this._setListeners(() => this.connectionReady());
  }

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    const startTlsExpected = !this.secure && this._isSupported('STARTTLS');
    if (startTlsExpected && (code === 538 || code === 530)) {
      super.send(gmailReplies.mustIssueStartTls.code, gmailReplies.mustIssueStartTls.message, false);
      return;
    }
    if (startTlsExpected && code === 250 && Array.isArray(data)) {
      super.send(
        code,
        data.filter((line) => !line.startsWith('AUTH ')),
        context,
      );
      return;
    }
    if (typeof data === 'string' && enhancedStatusCode.test(data)) {
      super.send(code, data.split('\n'), false);
      return;
    }
    // smtp-server ends a refused XOAUTH2 exchange with a bare 535; Gmail says 5.7.8, as for a wrong password.
    if (code === 535) {
      super.send(code, gmailReplies.badCredentials.message.split('\n'), false);
      return;
    }
    // smtp-server's own 552s are all about size (MAIL ... SIZE= over the limit).
    if (code === 552) {
      super.send(code, gmailReplies.messageTooBig.message.split('\n'), false);
      return;
    }
    super.send(code, data, context);
  }
}

/** An smtp-server whose connections are {@link GmailConnection}s; otherwise a plain `SMTPServer`. */
export class GmailSmtpServer extends SMTPServer {
  // Mirrors SMTPServer.connect, with the connection class swapped.
  override connect(socket: Socket | TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new GmailConnection(this, socket, socketOptions);
    this.connections.add(connection);
    connection.on('error', (err: Error) => this._onError(err));
    connection.on('connect', (info) => this._onClientConnect(info));
    connection.init();
  }
}
