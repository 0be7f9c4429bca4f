import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { credentialsShapeProblem, shapeAdvice } from '../../functions/doctor/operator-config.ts';
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

describe('credentialsShapeProblem and shapeAdvice', () => {
  const oauthClient = {
    username: 'alerts@example.com',
    clientId: '1234-abc.apps.googleusercontent.com',
    clientSecret: 'GOCSPX-unit',
    refreshToken: '1//unit',
  };
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const serviceAccount = {
    username: 'alerts@example.com',
    serviceClient: 'svc@project.iam.gserviceaccount.com',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const sesPassword = {
    username: 'AKIAUNITTESTEXAMPLE7',
    password: 'BGxn4v8kXyZ+unitTestSesSmtpPassword0123456',
  };

  it('accepts a Google OAuth client, a service account with a readable key, and an SES SMTP password for SES', () => {
    expect(credentialsShapeProblem(oauthClient)).toBeUndefined();
    expect(credentialsShapeProblem(serviceAccount)).toBeUndefined();
    expect(credentialsShapeProblem(sesPassword, 'ses')).toBeUndefined();
  });

  it('refuses what Google would refuse, without repeating a secret, and advises by sign-in and service', () => {
    const notGoogle = { ...oauthClient, clientId: 'my-app' };
    const brokenKey = {
      ...serviceAccount,
      privateKey: '-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----',
    };

    expect(credentialsShapeProblem(notGoogle)).toContain('.apps.googleusercontent.com');
    expect(credentialsShapeProblem(brokenKey)).toBe(
      'the privateKey is not a readable PEM private key (private_key of the key file)',
    );
    // Gmail and the Workspace relay want an App Password; an SES password is not one.
    const asGmail = { ...sesPassword, username: 'alerts@example.com' };
    expect(credentialsShapeProblem(sesPassword, 'gmail')).toContain('is not a full e-mail address');
    expect(credentialsShapeProblem(asGmail, 'gmail')).toContain('not a 16-letter App Password');
    expect(credentialsShapeProblem(asGmail, 'workspace-relay')).toContain('not a 16-letter App Password');
    expect(credentialsShapeProblem({ ...sesPassword, password: '' }, 'ses')).toBe(
      'the SMTP user name or password is empty',
    );
    expect(shapeAdvice(notGoogle)).toContain('npm run secret:set -- --oauth');
    expect(shapeAdvice(brokenKey)).toContain('Domain-wide delegation');
    expect(shapeAdvice(sesPassword, 'ses')).toContain('SES console');
    expect(shapeAdvice(sesPassword)).toContain('App Password');
  });
});
