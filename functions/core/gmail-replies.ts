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

const byReply = indexReplies(Object.values(GMAIL_REPLIES), 'GMAIL_REPLIES');

/** The SMTP services this product sends through, told apart by `SMTP_HOST`. */
export type SmtpService = 'gmail' | 'workspace-relay' | 'ses';

/** The service behind an SMTP host: the Workspace SMTP relay, Amazon SES, or Gmail (anything else). */
export function smtpServiceOf(host: string): SmtpService {
  const name = host.toLowerCase();
  if (name === 'smtp-relay.gmail.com') return 'workspace-relay';
  if (/^email-smtp(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com$/.test(name)) return 'ses';
  return 'gmail';
}

const RELAY_SETTINGS = 'Admin console → Apps → Google Workspace → Gmail → Routing → SMTP relay service';

/**
 * Replies that mean something else from the Workspace SMTP relay or Amazon SES than from
 * smtp.gmail.com, looked up before {@link GMAIL_REPLIES} when `SMTP_HOST` names that service (Google's
 * "SMTP relay error messages", AWS's "Amazon SES SMTP response codes"). Every other reply means what
 * Gmail means by it.
 */
export const SERVICE_REPLIES = {
  'workspace-relay': {
    relayDenied: {
      replies: ['550 5.7.0', '550 5.7.1'],
      failureClass: 'auth',
      cause:
        'The Workspace SMTP relay refused this sender (its IP address or domain is not allowed, or the relay wants SMTP authentication)',
      advice: `Allow this sender under ${RELAY_SETTINGS}: "Require SMTP Authentication" with the account of the secret, "Only addresses in my domains", "Require TLS encryption".`,
    },
    relayQuota: {
      replies: ['550 5.4.5', '5.4.5'],
      failureClass: 'quota',
      cause: "The Workspace SMTP relay's daily limit is reached (10,000 recipients a day per user)",
      advice: 'The alert is held and retried later.',
    },
    peakRelayLimit: {
      replies: ['450 4.2.1'],
      failureClass: 'transient',
      cause: "The Workspace SMTP relay's short-term peak limit for the organisation is reached",
      advice: RETRIED,
    },
  },
  ses: {
    sesCredentials: {
      replies: ['535'],
      failureClass: 'auth',
      cause: 'Amazon SES refused the SMTP credentials',
      advice:
        'Create SMTP credentials for this region in the SES console (they are not an IAM access key and secret) and store them as {"username","password"} with npm run secret:set.',
    },
    sesThrottled: {
      replies: ['454'],
      failureClass: 'transient',
      cause: 'Amazon SES is throttling this account (its sending rate or its daily quota is reached)',
      advice: `${RETRIED} If it recurs, ask for a higher sending quota in the SES console.`,
    },
    sesRejected: {
      replies: ['554'],
      failureClass: 'permanent',
      cause: 'Amazon SES refused the message (in the sandbox: an unverified sender or recipient)',
      advice:
        'Verify the sender (ALERT_FROM or its domain) in SES in this region; in the sandbox verify the recipients too, or request production access.',
    },
  },
} as const satisfies Record<Exclude<SmtpService, 'gmail'>, Record<string, GmailReplyMeaning>>;

/** A lookup map per service: reply key → meaning; each reply named once per service. */
function indexReplies(meanings: readonly GmailReplyMeaning[], table: string): Map<string, GmailReplyMeaning> {
  const index = new Map<string, GmailReplyMeaning>();
  for (const meaning of meanings) {
    for (const reply of meaning.replies) {
      if (index.has(reply)) throw new Error(`${table} names ${reply} twice`);
      index.set(reply, meaning);
    }
  }
  return index;
}

const byServiceReply: Record<SmtpService, Map<string, GmailReplyMeaning>> = {
  gmail: new Map(),
  'workspace-relay': indexReplies(Object.values(SERVICE_REPLIES['workspace-relay']), 'SERVICE_REPLIES'),
  ses: indexReplies(Object.values(SERVICE_REPLIES.ses), 'SERVICE_REPLIES'),
};

/**
 * What a reply means: the entry for the code and enhanced status, else for the enhanced status, else
 * for the code, else for any temporary (4xx) or permanent (5xx) reply; the `service`'s own replies
 * ({@link SERVICE_REPLIES}) first, then Gmail's. Undefined for a reply that is no refusal (2xx, 3xx).
 *
 * @example
 * lookupGmailReply(534, '5.7.14')?.failureClass // 'auth' (browser sign-in)
 * lookupGmailReply(454, undefined, 'ses')?.cause // 'Amazon SES is throttling this account …'
 */
export function lookupGmailReply(
  responseCode: number,
  enhancedStatus?: string,
  service: SmtpService = 'gmail',
): GmailReplyMeaning | undefined {
  const keys = [
    ...(enhancedStatus ? [`${responseCode} ${enhancedStatus}`, enhancedStatus] : []),
    String(responseCode),
    `${Math.floor(responseCode / 100)}xx`,
  ];
  for (const table of [byServiceReply[service], byReply]) {
    for (const key of keys) {
      const meaning = table.get(key);
      if (meaning) return meaning;
    }
  }
  return undefined;
}

/** Whether a reply to AUTH refuses the credentials themselves (534, 535), not the moment (454). */
export function isCredentialRefusal(responseCode: number, service: SmtpService = 'gmail'): boolean {
  return lookupGmailReply(responseCode, undefined, service)?.failureClass === 'auth';
}

/**
 * A reply to a command that needs a session authenticated: 530 with Gmail's "Authentication Required"
 * (not its 530 about STARTTLS), or 503, bad sequence.
 */
export function isUnauthenticatedReply(responseCode: number | undefined, reply: string): boolean {
  return responseCode === 503 || (responseCode === 530 && /Authentication Required/i.test(reply));
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

/** The scope an OAuth secret's tokens must carry for SMTP: Gmail accepts no narrower one. */
export const GMAIL_SMTP_SCOPE = 'https://mail.google.com/';

const OAUTH_CLIENT_ADVICE =
  'Run npm run secret:set -- --oauth to grant consent again and store the new refresh token: Google revokes it when consent is withdrawn or the password changes, after 7 days while the OAuth app\'s publishing status is "Testing" (set it "In production"), and it must carry the https://mail.google.com/ scope; after a client secret rotation store the new secret too.';

const DELEGATION_ADVICE =
  "Under Admin console → Security → Access and data control → API controls → Domain-wide delegation, authorise the service account's client ID for https://mail.google.com/; check that username is a user of the domain and that the key in the secret is still active.";

/**
 * What Google's OAuth 2.0 token endpoint means by its refusals (RFC 6749 `error` codes, HTTP status),
 * and what Gmail's refusal of an access token at AUTH XOAUTH2 means. Keyed like {@link GMAIL_REPLIES}:
 * `oauth-client invalid_grant` (credentials kind and error), `invalid_scope` (error for any kind),
 * `429`, `5xx`, `4xx` (HTTP status), `unreachable` (no answer), `<kind> XOAUTH2` (Gmail refused a
 * freshly issued token). {@link lookupOAuthReply} finds the entry.
 */
export const OAUTH_REPLIES = {
  refreshTokenRevoked: {
    replies: ['oauth-client invalid_grant'],
    failureClass: 'auth',
    cause: 'Google refused the refresh token (revoked, expired, or issued to another client)',
    advice: OAUTH_CLIENT_ADVICE,
  },
  clientRefused: {
    replies: ['oauth-client invalid_client', 'oauth-client unauthorized_client'],
    failureClass: 'auth',
    cause: 'Google refused the OAuth client (a wrong or rotated client secret, or a deleted client)',
    advice:
      'Copy the client ID and the current client secret from Google Cloud console → APIs & Services → Credentials, then run npm run secret:set -- --oauth.',
  },
  delegationRefused: {
    replies: [
      'service-account invalid_grant',
      'service-account unauthorized_client',
      'service-account invalid_client',
    ],
    failureClass: 'auth',
    cause:
      "Google refused the service account's grant (no domain-wide delegation for the scope, an unknown user, or a deleted key)",
    advice: DELEGATION_ADVICE,
  },
  scopeRefused: {
    replies: ['invalid_scope', 'access_denied'],
    failureClass: 'auth',
    cause: `Google refused the ${GMAIL_SMTP_SCOPE} scope for these credentials`,
    advice: `Grant ${GMAIL_SMTP_SCOPE} (the only scope Gmail accepts over SMTP): npm run secret:set -- --oauth asks for it; a service account needs it in its domain-wide delegation.`,
  },
  tokenEndpointUnavailable: {
    replies: ['429', '5xx', 'unreachable'],
    failureClass: 'transient',
    cause: "Google's token endpoint issued no token for now (unreachable, throttling or failing)",
    advice: RETRIED,
  },
  tokenRefused: {
    replies: ['4xx'],
    failureClass: 'auth',
    cause: "Google's token endpoint refused the token request",
    advice:
      'Check GOOGLE_OAUTH_TOKEN_URL and the OAuth fields of the secret; npm run doctor shows each step.',
  },
  accessTokenRefused: {
    replies: ['oauth-client XOAUTH2'],
    failureClass: 'auth',
    cause: 'Gmail refused a freshly issued access token for the account (AUTH XOAUTH2)',
    advice: OAUTH_CLIENT_ADVICE,
  },
  delegatedTokenRefused: {
    replies: ['service-account XOAUTH2'],
    failureClass: 'auth',
    cause: "Gmail refused a freshly issued access token for the service account's user (AUTH XOAUTH2)",
    advice: DELEGATION_ADVICE,
  },
} as const satisfies Record<string, GmailReplyMeaning>;

const byOAuthReply = indexReplies(Object.values(OAUTH_REPLIES), 'OAUTH_REPLIES');

/** The credentials kinds that sign in with an access token. */
export type OAuthKind = 'oauth-client' | 'service-account';

/**
 * What a refusal on the OAuth path means: `reply` is the token endpoint's `error` code, its HTTP
 * status, `unreachable`, or `XOAUTH2` for Gmail refusing a fresh access token.
 *
 * @example
 * lookupOAuthReply('oauth-client', 'invalid_grant').failureClass // 'auth' (refresh token revoked)
 * lookupOAuthReply('oauth-client', 503).failureClass // 'transient'
 */
export function lookupOAuthReply(
  kind: OAuthKind,
  reply: string | number,
  status?: number,
): GmailReplyMeaning {
  const statusKeys = (code: number) => [String(code), `${Math.floor(code / 100)}xx`];
  const keys = [
    `${kind} ${reply}`,
    String(reply),
    ...(typeof reply === 'number' ? statusKeys(reply) : []),
    ...(status === undefined ? [] : statusKeys(status)),
  ];
  for (const key of keys) {
    const meaning = byOAuthReply.get(key);
    if (meaning) return meaning;
  }
  return OAUTH_REPLIES.tokenRefused;
}
