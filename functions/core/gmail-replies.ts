import type { FailureClass } from './errors.ts';

/** What one Gmail reply means: its class, one line of cause and one line of advice. */
export interface GmailReplyMeaning {
  /**
   * The replies it stands for, the one Gmail sends first: `535 5.7.8` (code and enhanced status),
   * `535` (that code with any enhanced status), `5.4.5` (that enhanced status after any code),
   * `4xx` (any temporary reply no other entry names).
   */
  readonly replies: readonly string[];
  readonly failureClass: FailureClass;
  /** What Gmail means, one line. */
  readonly cause: string;
  /** What to do, one line. */
  readonly advice: string;
}

const GENERIC_ACCOUNT = 'you@gmail.com or you@your-domain';

/**
 * The App Password procedure, the fix for every refused login. Names `account` when it is a full
 * address; otherwise shows what a full address looks like, rather than echoing a wrong one.
 *
 * @example
 * appPasswordAdvice('alerts@example.com') // '… and use the full address (alerts@example.com) as the username.'
 */
export function appPasswordAdvice(account?: string): string {
  const shown = account?.includes('@') ? account : GENERIC_ACCOUNT;
  return `Turn on 2-Step Verification for the account, create an App Password under Google Account → Security → App passwords (https://myaccount.google.com/apppasswords), and use the full address (${shown}) as the username.`;
}

const RETRIED = 'The alert is retried with back-off.';

// The fix for every refused login; adviceFor names the account in it.
const APP_PASSWORD = appPasswordAdvice();

/**
 * Gmail's SMTP replies as this product acts on them (Google's "Gmail SMTP errors and codes"), the one
 * table the sender, the classifier, the doctor and the command line read. Keyed by what the reply
 * means; {@link lookupGmailReply} finds the entry for a reply.
 */
export const GMAIL_REPLIES = {
  tryAgainLater: {
    replies: ['421 4.7.0', '421'],
    failureClass: 'transient',
    cause: 'Gmail is busy or limiting this client, and closed the connection',
    advice: `Try again in a few minutes. ${RETRIED}`,
  },
  tooManyLoginAttempts: {
    replies: ['454 4.7.0', '454'],
    failureClass: 'transient',
    cause: 'Gmail is refusing logins for now, after too many attempts',
    advice: `Wait at least 10 minutes before logging in again (every failed attempt extends the block), then check the App Password. ${RETRIED}`,
  },
  tooManyRecipients: {
    // Split inside the sender; reaching a caller means a whole envelope was refused: retry later.
    replies: ['452 4.5.3', '4.5.3'],
    failureClass: 'transient',
    cause: 'Gmail refused recipients past its per-message limit',
    advice: 'They are sent in further messages, and retried if Gmail refuses even those.',
  },
  transient: {
    replies: ['4xx'],
    failureClass: 'transient',
    cause: 'Gmail or the network refused for now (a temporary reply, a timeout or a dropped connection)',
    advice: RETRIED,
  },
  quota: {
    replies: ['550 5.4.5', '5.4.5'],
    failureClass: 'quota',
    cause: "Gmail's daily sending limit is reached; the account cannot send for up to 24 h",
    advice: 'The alert is held and retried later.',
  },
  tls: {
    replies: ['530 5.7.0', '530'],
    failureClass: 'tls',
    cause:
      'Gmail requires TLS, and this connection did not get it (STARTTLS missing or refused, or a certificate refused)',
    advice:
      'Use port 587 with STARTTLS (SMTP_SECURE=false) or 465 with implicit TLS (SMTP_SECURE=true), and a trusted certificate.',
  },
  appPassword: {
    replies: ['534 5.7.9', '534'],
    failureClass: 'auth',
    cause: 'Gmail wants an App Password, not the account password',
    advice: APP_PASSWORD,
  },
  browserSignIn: {
    replies: ['534 5.7.14', '5.7.14'],
    failureClass: 'auth',
    cause: 'Gmail wants a browser sign-in first',
    advice: 'Sign in to the account at https://accounts.google.com from a browser, then use an App Password.',
  },
  badCredentials: {
    replies: ['535 5.7.8', '535'],
    failureClass: 'auth',
    cause: 'Gmail refused the username or App Password (wrong, revoked, or an account password)',
    advice: APP_PASSWORD,
  },
  tooBig: {
    replies: ['552 5.3.4', '552', '5.3.4'],
    failureClass: 'permanent',
    cause: 'Gmail refused the message as too large',
    advice: 'Send a shorter alert; link to the details instead of including them.',
  },
  recipient: {
    replies: ['550 5.1.1', '550', '551', '553'],
    failureClass: 'recipient',
    cause: 'Gmail refused a recipient',
    advice: 'Correct that recipient: check the address and the allow-list.',
  },
  permanent: {
    replies: ['5xx'],
    failureClass: 'permanent',
    cause: 'Gmail refused the message permanently',
    advice: "Read Gmail's reply (in the dead-letter entry): sending the same again will not help.",
  },
} as const satisfies Record<string, GmailReplyMeaning>;

/** The name of an entry of {@link GMAIL_REPLIES}. */
export type GmailReplyName = keyof typeof GMAIL_REPLIES;

const byReply = new Map<string, GmailReplyMeaning>();
for (const meaning of Object.values(GMAIL_REPLIES) as GmailReplyMeaning[]) {
  for (const reply of meaning.replies) {
    if (byReply.has(reply)) throw new Error(`GMAIL_REPLIES names ${reply} twice`);
    byReply.set(reply, meaning);
  }
}

/**
 * What a Gmail reply means: the entry for the code and enhanced status, else for the enhanced status,
 * else for the code, else for any temporary (4xx) or permanent (5xx) reply. Undefined for a reply
 * that is no refusal (2xx, 3xx).
 *
 * @example
 * lookupGmailReply(534, '5.7.14')?.failureClass // 'auth' (browser sign-in)
 */
export function lookupGmailReply(
  responseCode: number,
  enhancedStatus?: string,
): GmailReplyMeaning | undefined {
  const keys = [
    ...(enhancedStatus ? [`${responseCode} ${enhancedStatus}`, enhancedStatus] : []),
    String(responseCode),
    `${Math.floor(responseCode / 100)}xx`,
  ];
  for (const key of keys) {
    const meaning = byReply.get(key);
    if (meaning) return meaning;
  }
  return undefined;
}

/** Whether a reply to AUTH refuses the credentials themselves (534, 535), not the moment (454). */
export function isCredentialRefusal(responseCode: number): boolean {
  return lookupGmailReply(responseCode)?.failureClass === 'auth';
}

/**
 * Whether a reply refuses recipients only past Gmail's per-message limit (those go in a further
 * message). Without an enhanced status the code alone decides.
 */
export function isRecipientLimitReply(responseCode: number | undefined, enhancedStatus?: string): boolean {
  const [code, enhanced] = replyOf('tooManyRecipients');
  return responseCode === code && (enhancedStatus === undefined || enhancedStatus === enhanced);
}

/** The code and enhanced status Gmail sends for an entry (its first reply), for errors raised without a reply. */
export function replyOf(name: GmailReplyName): [responseCode: number, enhancedStatus: string | undefined] {
  const [code, enhanced] = (GMAIL_REPLIES[name].replies[0] ?? '').split(' ');
  return [Number(code), enhanced];
}

// RFC 3463's class.subject.detail: after the reply code and its separator, or at the start of a line.
const STATUS = String.raw`\d\.\d{1,3}\.\d{1,3}`;
const ENHANCED_STATUS = new RegExp(`^(?:\\d{3}[ -])?(${STATUS})(?:\\s+|$)`);
const LEADING_STATUS = new RegExp(`^${STATUS}\\s+`);

/**
 * The enhanced status code of a reply (`5.7.8` of `535-5.7.8 Username and Password not accepted`),
 * or undefined when it has none.
 */
export function enhancedStatusOf(reply: string): string | undefined {
  return ENHANCED_STATUS.exec(reply)?.[1];
}

/** A reply line without its leading enhanced status code (Gmail repeats it on every line). */
export function withoutEnhancedStatus(line: string): string {
  return line.replace(LEADING_STATUS, '');
}

/** The advice for an entry, naming the account where the advice is the App Password procedure. */
export function adviceFor(meaning: GmailReplyMeaning, account?: string): string {
  return meaning.advice === APP_PASSWORD ? appPasswordAdvice(account) : meaning.advice;
}

/** Cause and advice in one line, for a person who sees neither the reply nor the account. */
export function causeAndAdvice(meaning: GmailReplyMeaning): string {
  return `${meaning.cause}. ${meaning.advice}`;
}

/**
 * Each entry's cause and advice in one line, by name: the advice of errors raised without a reply at
 * hand (`ADVICE.badCredentials`, `ADVICE.tooManyRecipients`).
 */
export const ADVICE = Object.fromEntries(
  Object.entries(GMAIL_REPLIES).map(([name, meaning]) => [name, causeAndAdvice(meaning)]),
) as Record<GmailReplyName, string>;
