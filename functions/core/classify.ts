import { DeliveryError, type FailureClass } from './errors.ts';

/** The fields nodemailer puts on its errors; decisions are made on these, never on message text. */
interface SmtpErrorShape {
  code?: unknown;
  /** The socket's own code (e.g. `DEPTH_ZERO_SELF_SIGNED_CERT`) when nodemailer replaced it with its own. */
  originalCode?: unknown;
  responseCode?: unknown;
  command?: unknown;
  response?: unknown;
}

export const ADVICE = {
  transient:
    'Gmail or the network refused for now (421/454/4xx, timeout or dropped connection); the alert is retried with back-off.',
  quota:
    'Gmail daily sending limit reached (550 5.4.5); sending is blocked for up to 24 h. The alert is held and retried later.',
  appPassword:
    'Gmail wants an App Password (534 5.7.9): turn on 2-Step Verification, create an App Password under Google Account > Security > App passwords, store it in the secret.',
  browserSignIn:
    'Gmail wants a browser sign-in first (534 5.7.14): sign in to the account at https://accounts.google.com, then use an App Password.',
  badCredentials:
    'Gmail refused the username or password (535 5.7.8): use the full address as username and a current App Password (2-Step Verification on, Security > App passwords); it may have been revoked.',
  tls: 'Gmail requires encryption (530 5.7.0 / TLS failure): use port 587 with STARTTLS (SMTP_SECURE=false) or 465 with implicit TLS (SMTP_SECURE=true), and a trusted certificate.',
  recipient: 'Gmail refused a recipient (550 5.1.x); check the address and the allow-list.',
  tooManyRecipients:
    'Gmail refused recipients past its per-message limit (452 4.5.3); they are sent in further messages, and retried if Gmail refuses even those.',
  tooBig: 'Gmail refused the message as too large (552); send a shorter alert.',
  permanent: 'Gmail refused the message permanently; read the server reply in the dead-letter entry.',
} as const;

// Connection-level codes and our own deadline (EABORT): the socket or the clock failed, not the mail.
const NETWORK_CODES = new Set([
  'EABORT',
  'ETIMEDOUT',
  'ECONNECTION',
  'ESOCKET',
  'EDNS',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
]);

// Node's codes for a TLS handshake or certificate the client refused: retrying the same server will not help.
const TLS_REFUSAL = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|^ERR_TLS_|^ERR_SSL_/;

function decide(
  code: string | undefined,
  responseCode: number | undefined,
): { failureClass: FailureClass; advice: string } {
  // STARTTLS refused or not offered (`500 5.5.2` to STARTTLS) is a TLS problem, unless the server said "later".
  const temporary = responseCode !== undefined && responseCode >= 400 && responseCode < 500;
  if ((code === 'ETLS' || code === 'EREQUIRETLS') && !temporary) {
    return { failureClass: 'tls', advice: ADVICE.tls };
  }
  if (responseCode === 534) return { failureClass: 'auth', advice: ADVICE.appPassword };
  if (responseCode === 535) return { failureClass: 'auth', advice: ADVICE.badCredentials };
  if (responseCode === 530) return { failureClass: 'tls', advice: ADVICE.tls };
  if (responseCode !== undefined && responseCode >= 400 && responseCode < 500) {
    return { failureClass: 'transient', advice: ADVICE.transient };
  }
  if (responseCode === 552) return { failureClass: 'permanent', advice: ADVICE.tooBig };
  if (responseCode === 550 || responseCode === 551 || responseCode === 553) {
    return { failureClass: 'recipient', advice: ADVICE.recipient };
  }
  if (responseCode !== undefined && responseCode >= 500)
    return { failureClass: 'permanent', advice: ADVICE.permanent };
  if (code === 'ETLS' || code === 'EREQUIRETLS') return { failureClass: 'tls', advice: ADVICE.tls };
  if (code === 'EAUTH' || code === 'ENOAUTH') return { failureClass: 'auth', advice: ADVICE.badCredentials };
  if (code !== undefined && NETWORK_CODES.has(code))
    return { failureClass: 'transient', advice: ADVICE.transient };
  return { failureClass: 'permanent', advice: ADVICE.permanent };
}

/**
 * Classifies a nodemailer failure the way Gmail means it, from `code`, `responseCode` and the
 * enhanced status code of the reply.
 *
 * @example
 * classifySmtpFailure(err).failureClass // 'auth' for 535 5.7.8
 */
export function classifySmtpFailure(error: unknown): DeliveryError {
  if (error instanceof DeliveryError) return error;
  const shape = (typeof error === 'object' && error !== null ? error : {}) as SmtpErrorShape;
  const originalCode = typeof shape.originalCode === 'string' ? shape.originalCode : '';
  // nodemailer reports a refused certificate as ESOCKET; the socket's own code tells it from a dropped connection.
  const reported = typeof shape.code === 'string' ? shape.code : undefined;
  const code = TLS_REFUSAL.test(originalCode) ? 'ETLS' : reported;
  const responseCode = typeof shape.responseCode === 'number' ? shape.responseCode : undefined;
  const command = typeof shape.command === 'string' ? shape.command : undefined;
  const response = typeof shape.response === 'string' ? shape.response : '';
  const enhanced = /^\d{3}[ -](\d\.\d{1,3}\.\d{1,3})/.exec(response)?.[1];
  let { failureClass, advice } = decide(code, responseCode);
  // The enhanced status code refines what the basic reply code cannot tell apart.
  if (enhanced === '5.4.5' || enhanced === '4.5.3' || enhanced === '5.7.14' || enhanced === '5.3.4') {
    ({ failureClass, advice } = {
      '5.4.5': { failureClass: 'quota' as const, advice: ADVICE.quota },
      // Normally split inside the sender; reaching the caller means a whole envelope was refused: retry later.
      '4.5.3': { failureClass: 'transient' as const, advice: ADVICE.tooManyRecipients },
      '5.7.14': { failureClass: 'auth' as const, advice: ADVICE.browserSignIn },
      '5.3.4': { failureClass: 'permanent' as const, advice: ADVICE.tooBig },
    }[enhanced]);
  }
  const reply =
    responseCode !== undefined ? `${responseCode}${enhanced ? ` ${enhanced}` : ''}` : (code ?? 'unknown');
  const message = `Gmail delivery failed (${failureClass}, ${reply}${command ? ` at ${command.split(' ')[0]}` : ''})`;
  return new DeliveryError(message, failureClass, advice, { code, responseCode, command }, { cause: error });
}
