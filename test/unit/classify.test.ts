import { describe, expect, it } from 'vitest';
import {
  classifySmtpFailure,
  isCertificateError,
  recipientLimitError,
  repeatedRefusalError,
} from '../../functions/core/classify.ts';
import { DeliveryError } from '../../functions/core/errors.ts';

/** A nodemailer error as it arrives: the reply's first line gives `responseCode` and `response`. */
const smtpError = (reply: string, code = 'EENVELOPE', command = 'RCPT TO') =>
  Object.assign(new Error(`failed: ${reply}`), {
    code,
    command,
    ...(reply ? { responseCode: Number(reply.slice(0, 3)), response: reply } : {}),
  });

describe('classifySmtpFailure', () => {
  it.each([
    ['421 4.7.0 Try again later, closing connection.', 'EPROTOCOL', 'CONN', 'transient', 'retried'],
    ['454 4.7.0 Too many login attempts.', 'EAUTH', 'AUTH', 'transient', 'retried'],
    ['535-5.7.8 Username and Password not accepted.', 'EAUTH', 'AUTH', 'auth', 'App Password'],
    ['534-5.7.9 Application-specific password required.', 'EAUTH', 'AUTH', 'auth', '2-Step Verification'],
    ['534-5.7.14 Please log in via your web browser', 'EAUTH', 'AUTH', 'auth', 'browser sign-in'],
    ['530 5.7.0 Must issue a STARTTLS command first.', 'EENVELOPE', 'MAIL FROM', 'tls', 'STARTTLS'],
    ['550 5.4.5 Daily user sending limit exceeded.', 'EMESSAGE', 'DATA', 'quota', '24 h'],
    ['452 4.5.3 Your message has too many recipients.', 'EENVELOPE', 'RCPT', 'transient', 'per-message'],
    ['452 4.2.2 The email account is over quota.', 'EENVELOPE', 'RCPT TO', 'transient', 'retried'],
    ["552 5.3.4 Your message exceeded Google's size limits.", 'EMESSAGE', 'DATA', 'permanent', 'too large'],
    ['550 5.1.1 The email account does not exist.', 'EENVELOPE', 'RCPT', 'recipient', 'check the address'],
    ['554 5.6.0 Message rejected.', 'EMESSAGE', 'DATA', 'permanent', 'permanently'],
    ['500 5.5.2 STARTTLS not understood', 'ETLS', 'STARTTLS', 'tls', 'STARTTLS'],
    ['454 4.7.0 TLS not available for now', 'ETLS', 'STARTTLS', 'transient', 'retried'],
    ['', 'ETLS', 'STARTTLS', 'tls', 'STARTTLS'],
    ['', 'EAUTH', 'AUTH PLAIN', 'auth', 'App Password'],
    ['', 'ETIMEDOUT', 'CONN', 'transient', 'retried'],
    ['', 'ESOCKET', 'CONN', 'transient', 'retried'],
    ['', 'ECONNECTION', 'CONN', 'transient', 'retried'],
    ['', 'EDNS', 'CONN', 'transient', 'retried'],
    ['', 'EABORT', 'API', 'transient', 'retried'],
    ['', 'ESTREAM', 'DATA', 'permanent', 'permanently'],
  ])('classifies "%s" (%s at %s) as %s, advice about %s', (reply, code, command, failureClass, advice) => {
    const error = smtpError(reply, code, command);

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

  it('tells a refused certificate from a dropped connection by the socket code nodemailer replaced', () => {
    const refused = Object.assign(new Error('self-signed certificate'), {
      code: 'ESOCKET',
      originalCode: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    const dropped = Object.assign(new Error('socket closed'), {
      code: 'ESOCKET',
      originalCode: 'ECONNRESET',
    });

    expect(classifySmtpFailure(refused)).toMatchObject({ failureClass: 'tls', code: 'ETLS' });
    expect(classifySmtpFailure(dropped)).toMatchObject({ failureClass: 'transient', code: 'ESOCKET' });
  });

  it('names the reply and the command in its message without echoing the server text', () => {
    const failure = classifySmtpFailure(
      smtpError('535-5.7.8 Username and Password not accepted.', 'EAUTH', 'AUTH PLAIN dGVzdA=='),
    );
    expect(failure.message).toBe('Gmail delivery failed (auth, 535 5.7.8 at AUTH)');
    expect(failure.message).not.toContain('dGVzdA==');
  });

  it('passes a DeliveryError through as it is', () => {
    const failure = repeatedRefusalError();
    expect(classifySmtpFailure(failure)).toBe(failure);
  });
});

describe('errors raised without a reply at hand', () => {
  it('reports credentials refused moments ago as that refusal, with the App Password advice', () => {
    const failure = repeatedRefusalError();

    expect(failure).toBeInstanceOf(DeliveryError);
    expect(failure).toMatchObject({ failureClass: 'auth', code: 'EAUTH', responseCode: 535 });
    expect(failure.message).toContain('(535 5.7.8)');
    expect(failure.advice).toContain('2-Step Verification');
    expect(failure.retryable).toBe(false);
  });

  it('reports an envelope refused whole past the recipient limit as retryable', () => {
    const failure = recipientLimitError();

    expect(failure).toMatchObject({ failureClass: 'transient', code: 'EENVELOPE', responseCode: 452 });
    expect(failure.message).toBe('Gmail accepted none of the recipients (452 4.5.3)');
    expect(failure.advice).toContain('per-message limit');
    expect(failure.retryable).toBe(true);
  });
});

describe('isCertificateError', () => {
  it.each([
    ['DEPTH_ZERO_SELF_SIGNED_CERT', true],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', true],
    ['CERT_HAS_EXPIRED', true],
    ['ERR_TLS_CERT_ALTNAME_INVALID', true],
    ['ERR_SSL_WRONG_VERSION_NUMBER', false],
    ['ECONNRESET', false],
  ])('says %s is a refused certificate: %s', (code, expected) => {
    expect(isCertificateError(Object.assign(new Error(code), { code }))).toBe(expected);
  });
});
