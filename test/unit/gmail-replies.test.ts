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
  lookupGmailReply,
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
