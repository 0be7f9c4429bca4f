import { describe, expect, it } from 'vitest';
import { classifySmtpFailure } from '../../functions/core/classify.ts';

const smtpError = (
  responseCode: number | undefined,
  response: string,
  code = 'EENVELOPE',
  command = 'RCPT TO',
) => Object.assign(new Error(`failed: ${response}`), { code, responseCode, response, command });

describe('classifySmtpFailure', () => {
  it.each([
    [
      smtpError(421, '421 4.7.0 Try again later, closing connection.', 'EPROTOCOL', 'CONN'),
      'transient',
      'retried',
    ],
    [
      smtpError(454, '454 4.7.0 Too many login attempts, please try again later.', 'EAUTH', 'AUTH PLAIN'),
      'transient',
      'retried',
    ],
    [
      smtpError(535, '535-5.7.8 Username and Password not accepted.', 'EAUTH', 'AUTH PLAIN'),
      'auth',
      'App Password',
    ],
    [
      smtpError(534, '534-5.7.9 Application-specific password required.', 'EAUTH', 'AUTH PLAIN'),
      'auth',
      '2-Step Verification',
    ],
    [
      smtpError(534, '534-5.7.14 Please log in via your web browser', 'EAUTH', 'AUTH PLAIN'),
      'auth',
      'browser',
    ],
    [
      smtpError(530, '530 5.7.0 Must issue a STARTTLS command first.', 'EENVELOPE', 'MAIL FROM'),
      'tls',
      'STARTTLS',
    ],
    [smtpError(550, '550 5.4.5 Daily user sending limit exceeded.', 'EMESSAGE', 'DATA'), 'quota', '24 h'],
    [smtpError(452, '452 4.5.3 Your message has too many recipients.'), 'transient', 'per-message limit'],
    [smtpError(452, '452 4.2.2 The email account is over quota.'), 'transient', 'retried'],
    [
      smtpError(552, "552 5.3.4 Your message exceeded Google's message size limits.", 'EMESSAGE', 'DATA'),
      'permanent',
      'too large',
    ],
    [
      smtpError(550, '550 5.1.1 The email account that you tried to reach does not exist.'),
      'recipient',
      'recipient',
    ],
    [smtpError(554, '554 5.6.0 Message rejected.', 'EMESSAGE', 'DATA'), 'permanent', 'permanently'],
    [smtpError(undefined, '', 'ETLS', 'STARTTLS'), 'tls', 'STARTTLS'],
    [smtpError(undefined, '', 'ETIMEDOUT', 'CONN'), 'transient', 'retried'],
    [smtpError(undefined, '', 'ESOCKET', 'CONN'), 'transient', 'retried'],
    [smtpError(undefined, '', 'ECONNECTION', 'CONN'), 'transient', 'retried'],
    [smtpError(undefined, '', 'EDNS', 'CONN'), 'transient', 'retried'],
    [smtpError(undefined, '', 'EABORT', 'API'), 'transient', 'retried'],
  ])('classifies %s as %s with advice about %s', (error, failureClass, advice) => {
    const failure = classifySmtpFailure(error);
    expect(failure.failureClass).toBe(failureClass);
    expect(failure.advice).toContain(advice);
    expect(failure.cause).toBe(error);
  });

  it('decides on the codes, not on the wording of the message', () => {
    const misleading = Object.assign(new Error('535 Username and Password not accepted'), {
      code: 'ETIMEDOUT',
    });
    expect(classifySmtpFailure(misleading).failureClass).toBe('transient');
  });

  it('names the reply and the command in its message without echoing the server text', () => {
    const failure = classifySmtpFailure(
      smtpError(535, '535-5.7.8 Username and Password not accepted.', 'EAUTH', 'AUTH PLAIN dGVzdA=='),
    );
    expect(failure.message).toBe('Gmail delivery failed (auth, 535 5.7.8 at AUTH)');
    expect(failure.message).not.toContain('dGVzdA==');
  });
});
