import { DeliveryError } from './errors.ts';
import {
  ADVICE,
  causeAndAdvice,
  enhancedStatusOf,
  GMAIL_REPLIES,
  type GmailReplyMeaning,
  lookupGmailReply,
  lookupOAuthReply,
  type OAuthKind,
  replyOf,
  type SmtpService,
} from './gmail-replies.ts';

/** The fields nodemailer puts on its errors; decisions are made on these, never on message text. */
interface SmtpErrorShape {
  code?: unknown;
  /** The socket's own code (e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`) when nodemailer replaced it with its own. */
  originalCode?: unknown;
  responseCode?: unknown;
  command?: unknown;
  response?: unknown;
}

/** nodemailer's codes for a connection that closed (FIN) or reset (RST) without a reply: worth one reconnect. */
export const STALE_CONNECTION_CODES: ReadonlySet<string> = new Set(['ECONNECTION', 'ESOCKET']);

// Connection-level codes and our own deadline (EABORT): the socket or the clock failed, not the mail.
const NETWORK_CODES: ReadonlySet<string> = new Set([
  ...STALE_CONNECTION_CODES,
  'EABORT',
  'ETIMEDOUT',
  'EDNS',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
]);

// Codes OpenSSL and Node give when the peer spoke TLS but its certificate is not acceptable.
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME|HOSTNAME/;

/** Whether a socket error refuses the peer's certificate (the TLS handshake itself got that far). */
export function isCertificateError(error: unknown): boolean {
  return CERTIFICATE_CODE.test(String((error as { code?: unknown } | undefined)?.code ?? ''));
}

// A certificate or TLS handshake the client refused: retrying the same server will not help.
const isTlsRefusal = (socketCode: string) =>
  isCertificateError({ code: socketCode }) || /^ERR_(TLS|SSL)_/.test(socketCode);

function meaningOf(
  code: string | undefined,
  responseCode: number | undefined,
  enhancedStatus: string | undefined,
  service: SmtpService,
): GmailReplyMeaning {
  const reply =
    responseCode === undefined ? undefined : lookupGmailReply(responseCode, enhancedStatus, service);
  // STARTTLS refused or not offered (`500 5.5.2` to STARTTLS) is a TLS problem, unless the server said "later".
  if ((code === 'ETLS' || code === 'EREQUIRETLS') && reply?.failureClass !== 'transient') {
    return GMAIL_REPLIES.tls;
  }
  if (reply) return reply;
  if (code === 'EAUTH' || code === 'ENOAUTH') return GMAIL_REPLIES.badCredentials;
  if (code !== undefined && NETWORK_CODES.has(code)) return GMAIL_REPLIES.transient;
  return GMAIL_REPLIES.permanent;
}

/**
 * Classifies a nodemailer failure the way Gmail means it: `code`, `responseCode` and the enhanced
 * status code of the reply, looked up in the Gmail reply table (with the replies of `service` first:
 * the Workspace SMTP relay or Amazon SES, see `smtpServiceOf`).
 *
 * @example
 * classifySmtpFailure(err).failureClass // 'auth' when Gmail refuses the App Password
 */
export function classifySmtpFailure(error: unknown, service: SmtpService = 'gmail'): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SmtpErrorShape;
  const originalCode = typeof shape.originalCode === 'string' ? shape.originalCode : '';
  // nodemailer reports a refused certificate as ESOCKET; the socket's own code tells it from a dropped connection.
  const reported = typeof shape.code === 'string' ? shape.code : undefined;
  const code = isTlsRefusal(originalCode) ? 'ETLS' : reported;
  const responseCode = typeof shape.responseCode === 'number' ? shape.responseCode : undefined;
  const command = typeof shape.command === 'string' ? shape.command : undefined;
  const enhanced = enhancedStatusOf(typeof shape.response === 'string' ? shape.response : '');
  const meaning = meaningOf(code, responseCode, enhanced, service);
  const reply =
    responseCode !== undefined ? `${responseCode}${enhanced ? ` ${enhanced}` : ''}` : (code ?? 'unknown');
  const message = `Gmail delivery failed (${meaning.failureClass}, ${reply}${command ? ` at ${command.split(' ')[0]}` : ''})`;
  return new DeliveryError(
    message,
    meaning.failureClass,
    causeAndAdvice(meaning),
    { code, responseCode, command },
    { cause: error },
  );
}

/**
 * Credentials Gmail refused moments ago: reported as that refusal, without logging in again. `oauth`
 * names the kind of OAuth credentials, whose refusal has its own advice.
 */
export function repeatedRefusalError(oauth?: OAuthKind): DeliveryError {
  const [responseCode, enhanced] = replyOf('badCredentials');
  const meaning = oauth ? lookupOAuthReply(oauth, 'XOAUTH2') : GMAIL_REPLIES.badCredentials;
  return new DeliveryError(
    `Gmail refused these credentials moments ago (${responseCode} ${enhanced}); not sending them again`,
    meaning.failureClass,
    causeAndAdvice(meaning),
    { code: 'EAUTH', responseCode, command: oauth ? 'AUTH XOAUTH2' : 'AUTH PLAIN' },
  );
}

/**
 * Gmail refused a freshly issued access token at AUTH XOAUTH2 (after the cached one was refused too):
 * classified as `auth` with the advice for the kind of OAuth credentials, never as a wrong App Password.
 */
export function accessTokenRefusalError(
  oauth: OAuthKind,
  responseCode: number,
  enhancedStatus: string | undefined,
): DeliveryError {
  const meaning = lookupOAuthReply(oauth, 'XOAUTH2');
  const reply = `${responseCode}${enhancedStatus ? ` ${enhancedStatus}` : ''}`;
  return new DeliveryError(
    `Gmail delivery failed (${meaning.failureClass}, ${reply} at AUTH XOAUTH2)`,
    meaning.failureClass,
    causeAndAdvice(meaning),
    { code: 'EAUTH', responseCode, command: 'AUTH XOAUTH2' },
  );
}

/** Gmail refused every recipient of a message as past its per-message limit: nothing left to split. */
export function recipientLimitError(): DeliveryError {
  const [responseCode, enhanced] = replyOf('tooManyRecipients');
  return new DeliveryError(
    `Gmail accepted none of the recipients (${responseCode} ${enhanced})`,
    GMAIL_REPLIES.tooManyRecipients.failureClass,
    ADVICE.tooManyRecipients,
    { code: 'EENVELOPE', responseCode },
  );
}
