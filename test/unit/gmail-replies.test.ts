import { describe, expect, it } from 'vitest';
import {
  ADVICE,
  adviceFor,
  appPasswordAdvice,
  enhancedStatusOf,
  GMAIL_REPLIES,
  type GmailReplyMeaning,
  isCredentialRefusal,
  isRecipientLimitReply,
  isUnauthenticatedReply,
  lookupGmailReply,
  lookupOAuthReply,
  OAUTH_REPLIES,
  SERVICE_REPLIES,
  smtpServiceOf,
  withoutEnhancedStatus,
} from '../../functions/core/gmail-replies.ts';
import { gmailReplies } from '../../local/gmail-replies.ts';

describe('lookupGmailReply', () => {
  // The replies the loopback Gmail sends, worded as Gmail words them, and what each must mean.
  it.each([
    ['tryAgainLater', 'transient', GMAIL_REPLIES.tryAgainLater],
    ['tooManyLoginAttempts', 'transient', GMAIL_REPLIES.tooManyLoginAttempts],
    ['mustIssueStartTls', 'tls', GMAIL_REPLIES.tls],
    ['authenticationRequired', 'tls', GMAIL_REPLIES.tls],
    ['applicationSpecificPasswordRequired', 'auth', GMAIL_REPLIES.appPassword],
    ['webLoginRequired', 'auth', GMAIL_REPLIES.browserSignIn],
    ['badCredentials', 'auth', GMAIL_REPLIES.badCredentials],
    ['dailyLimitExceeded', 'quota', GMAIL_REPLIES.quota],
    ['tooManyRecipients', 'transient', GMAIL_REPLIES.tooManyRecipients],
    ['messageTooBig', 'permanent', GMAIL_REPLIES.tooBig],
    ['noSuchUser', 'recipient', GMAIL_REPLIES.recipient],
  ] as const)("reads Gmail's %s as %s", (name, failureClass, meaning) => {
    const { code, message } = gmailReplies[name];

    const found = lookupGmailReply(code, enhancedStatusOf(message));

    expect(found).toBe(meaning);
    expect(found?.failureClass).toBe(failureClass);
  });

  it('prefers code and enhanced status, then the enhanced status, then the code, then the class', () => {
    expect(lookupGmailReply(534, '5.7.14')).toBe(GMAIL_REPLIES.browserSignIn);
    expect(lookupGmailReply(534, '5.7.9')).toBe(GMAIL_REPLIES.appPassword);
    expect(lookupGmailReply(534)).toBe(GMAIL_REPLIES.appPassword);
    expect(lookupGmailReply(554, '5.3.4')).toBe(GMAIL_REPLIES.tooBig);
    expect(lookupGmailReply(550, '5.7.1')).toBe(GMAIL_REPLIES.recipient);
    expect(lookupGmailReply(451, '4.3.0')).toBe(GMAIL_REPLIES.transient);
    expect(lookupGmailReply(554, '5.6.0')).toBe(GMAIL_REPLIES.permanent);
  });

  it('has no meaning for a reply that refuses nothing', () => {
    expect(lookupGmailReply(235, '2.7.0')).toBeUndefined();
    expect(lookupGmailReply(250)).toBeUndefined();
  });
});

describe('the table', () => {
  const entries = Object.entries(GMAIL_REPLIES) as [string, GmailReplyMeaning][];

  it('gives every entry one line of cause and one line of advice, and ADVICE both together', () => {
    for (const [name, meaning] of entries) {
      expect(meaning.cause, name).toMatch(/^\S[^\n]*[^.]$/);
      expect(meaning.advice, name).toMatch(/^[A-Z][^\n]*\.$/);
      expect(ADVICE[name as keyof typeof ADVICE]).toBe(`${meaning.cause}. ${meaning.advice}`);
    }
  });

  it('names each reply in one entry only', () => {
    const replies = entries.flatMap(([, meaning]) => meaning.replies);
    expect(new Set(replies).size).toBe(replies.length);
  });
});

describe('isCredentialRefusal', () => {
  it('is true for the replies that refuse the credentials, not for a lock-out or missing TLS', () => {
    expect([534, 535].map((code) => isCredentialRefusal(code))).toEqual([true, true]);
    expect([454, 530, 421, 235].map((code) => isCredentialRefusal(code))).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('isRecipientLimitReply', () => {
  it('is true for 452 4.5.3, or 452 alone, and false for another 452 or another code', () => {
    expect(isRecipientLimitReply(452, '4.5.3')).toBe(true);
    expect(isRecipientLimitReply(452)).toBe(true);
    expect(isRecipientLimitReply(452, '4.2.2')).toBe(false);
    expect(isRecipientLimitReply(550, '5.1.1')).toBe(false);
    expect(isRecipientLimitReply(undefined)).toBe(false);
  });
});

describe('isUnauthenticatedReply', () => {
  const reply = ({ code, message }: { code: number; message: string }) => `${code} ${message}`;

  it("is true for Gmail's 530 Authentication Required and for 503, not for its 530 about STARTTLS", () => {
    expect(isUnauthenticatedReply(530, reply(gmailReplies.authenticationRequired))).toBe(true);
    expect(isUnauthenticatedReply(503, '503 5.5.1 Bad sequence of commands')).toBe(true);
    expect(isUnauthenticatedReply(530, reply(gmailReplies.mustIssueStartTls))).toBe(false);
    expect(isUnauthenticatedReply(535, reply(gmailReplies.badCredentials))).toBe(false);
    expect(isUnauthenticatedReply(undefined, '')).toBe(false);
  });
});

describe('enhancedStatusOf', () => {
  it.each([
    ['535-5.7.8 Username and Password not accepted.', '5.7.8'],
    ['534 5.7.14 Please log in with your web browser', '5.7.14'],
    ['5.4.5 Daily user sending limit exceeded.', '5.4.5'],
    ['250 2.0.0 OK', '2.0.0'],
    ['250 smtp.gmail.com at your service', undefined],
    ['535 Authentication failed', undefined],
  ])('finds the enhanced status of "%s": %s', (reply, status) => {
    expect(enhancedStatusOf(reply)).toBe(status);
  });

  it('is removed from a continuation line, and only there', () => {
    expect(withoutEnhancedStatus('5.7.8  https://support.google.com/mail/?p=BadCredentials')).toBe(
      'https://support.google.com/mail/?p=BadCredentials',
    );
    expect(withoutEnhancedStatus('information, go to')).toBe('information, go to');
  });
});

describe('appPasswordAdvice', () => {
  it('names the account when it is a full address, and shows a full address otherwise', () => {
    expect(appPasswordAdvice('alerts@example.com')).toContain('use the full address (alerts@example.com)');
    expect(appPasswordAdvice('alerts')).toContain('use the full address (you@gmail.com or you@your-domain)');
    expect(appPasswordAdvice('alerts')).not.toContain('(alerts)');
    expect(appPasswordAdvice()).toMatch(/^Turn on 2-Step Verification .*App passwords/);
  });

  it('is the advice for refused credentials, naming the account; other advice stays as it is', () => {
    expect(adviceFor(GMAIL_REPLIES.badCredentials, 'a@example.org')).toBe(appPasswordAdvice('a@example.org'));
    expect(adviceFor(GMAIL_REPLIES.appPassword, 'a@example.org')).toContain('(a@example.org)');
    expect(adviceFor(GMAIL_REPLIES.browserSignIn, 'a@example.org')).toBe(GMAIL_REPLIES.browserSignIn.advice);
  });
});

describe('the replies of the Workspace SMTP relay and Amazon SES', () => {
  it('tells the services apart by SMTP_HOST', () => {
    expect(smtpServiceOf('smtp.gmail.com')).toBe('gmail');
    expect(smtpServiceOf('smtp-relay.gmail.com')).toBe('workspace-relay');
    expect(smtpServiceOf('email-smtp.eu-west-1.amazonaws.com')).toBe('ses');
    expect(smtpServiceOf('email-smtp-fips.us-east-1.amazonaws.com')).toBe('ses');
    expect(smtpServiceOf('email-smtp.eu-west-1.amazonaws.com.evil.example')).toBe('gmail');
  });

  it("reads a service's own refusals first, and Gmail's meaning for everything else", () => {
    const relayPeak = gmailReplies.peakRelayLimitExceeded;
    expect(lookupGmailReply(550, '5.7.1', 'workspace-relay')).toBe(
      SERVICE_REPLIES['workspace-relay'].relayDenied,
    );
    expect(lookupGmailReply(550, '5.4.5', 'workspace-relay')?.failureClass).toBe('quota');
    expect(lookupGmailReply(relayPeak.code, enhancedStatusOf(relayPeak.message), 'workspace-relay')).toBe(
      SERVICE_REPLIES['workspace-relay'].peakRelayLimit,
    );
    expect(lookupGmailReply(535, undefined, 'ses')).toBe(SERVICE_REPLIES.ses.sesCredentials);
    expect(lookupGmailReply(454, undefined, 'ses')?.failureClass).toBe('transient');
    expect(lookupGmailReply(454, undefined, 'ses')?.cause).toContain('Amazon SES is throttling');
    expect(lookupGmailReply(554, undefined, 'ses')?.failureClass).toBe('permanent');
    expect(lookupGmailReply(550, '5.1.1', 'ses')).toBe(GMAIL_REPLIES.recipient);
    // Gmail itself keeps its own meaning for the same replies.
    expect(lookupGmailReply(550, '5.7.1')).toBe(GMAIL_REPLIES.recipient);
    expect(lookupGmailReply(454)).toBe(GMAIL_REPLIES.tooManyLoginAttempts);
  });

  it('gives every service entry one line of cause and advice', () => {
    for (const meaning of Object.values(SERVICE_REPLIES).flatMap((table) => Object.values(table))) {
      expect(meaning.cause).toMatch(/^\S[^\n]*[^.]$/);
      expect(meaning.advice).toMatch(/^[A-Z][^\n]*\.$/);
    }
  });
});

describe('lookupOAuthReply', () => {
  it.each([
    ['oauth-client', 'invalid_grant', undefined, OAUTH_REPLIES.refreshTokenRevoked],
    ['service-account', 'invalid_grant', undefined, OAUTH_REPLIES.delegationRefused],
    ['oauth-client', 'invalid_client', 401, OAUTH_REPLIES.clientRefused],
    ['service-account', 'invalid_scope', 400, OAUTH_REPLIES.scopeRefused],
    ['oauth-client', 429, 429, OAUTH_REPLIES.tokenEndpointUnavailable],
    ['oauth-client', 'backend_error', 503, OAUTH_REPLIES.tokenEndpointUnavailable],
    ['oauth-client', 'unreachable', undefined, OAUTH_REPLIES.tokenEndpointUnavailable],
    ['oauth-client', 'something_new', 400, OAUTH_REPLIES.tokenRefused],
    ['oauth-client', 'XOAUTH2', undefined, OAUTH_REPLIES.accessTokenRefused],
    ['service-account', 'XOAUTH2', undefined, OAUTH_REPLIES.delegatedTokenRefused],
  ] as const)('reads %s %s (HTTP %s) by the table', (kind, reply, status, meaning) => {
    expect(lookupOAuthReply(kind, reply, status)).toBe(meaning);
  });

  it('advises consent again for a refused refresh token, naming the testing-mode expiry and the scope', () => {
    const { advice } = OAUTH_REPLIES.refreshTokenRevoked;
    expect(advice).toContain('npm run secret:set -- --oauth');
    expect(advice).toContain('7 days');
    expect(advice).toContain('https://mail.google.com/');
    expect(advice).toContain('client secret');
    expect(OAUTH_REPLIES.accessTokenRefused.advice).toBe(advice);
  });
});
