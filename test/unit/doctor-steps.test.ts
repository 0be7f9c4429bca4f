import { describe, expect, it } from 'vitest';
import { connectFailure } from '../../functions/doctor/steps.ts';

const socketError = (code: string) => Object.assign(new Error(code), { code });

describe('connectFailure', () => {
  it('names outbound blocking for a refused or unanswered connection', () => {
    const refused = connectFailure(socketError('ECONNREFUSED'), { host: 'smtp.gmail.com', port: 587 }, 5000);
    const silent = connectFailure(socketError('ETIMEDOUT'), { host: 'smtp.gmail.com', port: 465 }, 2500);

    expect(refused.message).toBe(
      'smtp.gmail.com:587 refused the connection (ECONNREFUSED): nothing listens there, or a firewall rejects outbound TCP 587',
    );
    expect(refused.fix).toMatch(
      /^Allow outbound TCP 587 .*security group.*NAT gateway.*corporate firewall\.$/,
    );
    expect(silent.message).toContain('No answer from smtp.gmail.com:465 within 2.5 s');
  });

  it('says port 25 is blocked on AWS, and only for port 25', () => {
    const on25 = connectFailure(socketError('ETIMEDOUT'), { host: 'smtp.gmail.com', port: 25 }, 5000);
    const on587 = connectFailure(socketError('ETIMEDOUT'), { host: 'smtp.gmail.com', port: 587 }, 5000);

    expect(on25.fix).toContain('port 25 is blocked on AWS, use 587 or 465');
    expect(on587.fix).not.toContain('port 25');
  });

  it('names an unforeseen code rather than guessing', () => {
    const failure = connectFailure(socketError('EACCES'), { host: '127.0.0.1', port: 587 }, 5000);

    expect(failure.message).toBe('Could not connect to 127.0.0.1:587 (EACCES)');
  });
});
