import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, SecretUnavailableError } from '../../functions/core/errors.ts';
import {
  authPlainToken,
  credentialsFingerprint,
  credentialsKind,
  fetchGmailCredentials,
  parseGmailSecret,
  xoauth2Token,
} from '../../functions/core/gmail-credentials.ts';

const secretsManager = mockClient(SecretsManagerClient);
const password = 'qrst uvwx yzab cdef';

afterEach(() => {
  secretsManager.reset();
});

describe('parseGmailSecret', () => {
  it('strips the cosmetic spaces of an App Password', () => {
    expect(parseGmailSecret(JSON.stringify({ username: 'me@example.com', password }))).toEqual({
      username: 'me@example.com',
      password: 'qrstuvwxyzabcdef',
    });
  });

  it.each([
    ['not JSON', `password=${password}`, 'is not JSON'],
    [
      'without a password',
      JSON.stringify({ username: 'me@example.com', pass: password }),
      'missing or empty password',
    ],
    ['with an empty username', JSON.stringify({ username: ' ', password }), 'missing or empty username'],
  ])('refuses a value %s without echoing it', (_name, value, problem) => {
    const error = (() => {
      try {
        parseGmailSecret(value);
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain(problem);
    expect(error?.message).not.toContain('qrst');
  });
});

describe('parseGmailSecret with OAuth 2.0 shapes', () => {
  const oauthClient = {
    username: 'me@example.com',
    clientId: '123-abc.apps.googleusercontent.com',
    clientSecret: 'GOCSPX-unitTestSecret',
    refreshToken: '1//unit-refresh-token',
  };
  const privateKey = '-----BEGIN PRIVATE KEY-----\nMIIEunitTestKeyBody\n-----END PRIVATE KEY-----\n';
  const serviceAccount = {
    username: 'me@example.com',
    serviceClient: 'alerts@project.iam.gserviceaccount.com',
    privateKey,
  };

  it('reads an OAuth client with its refresh token, and a service account with its key', () => {
    const client = parseGmailSecret(JSON.stringify(oauthClient));
    const delegated = parseGmailSecret(JSON.stringify(serviceAccount));

    expect(client).toEqual(oauthClient);
    expect(credentialsKind(client)).toBe('oauth-client');
    // Surrounding whitespace (a pasted key's last newline) is trimmed from every field.
    expect(delegated).toEqual({ ...serviceAccount, privateKey: privateKey.trim() });
    expect(credentialsKind(delegated)).toBe('service-account');
    expect(credentialsKind(parseGmailSecret(JSON.stringify({ username: 'me@example.com', password })))).toBe(
      'app-password',
    );
  });

  it.each([
    ['an OAuth client without its refresh token', { ...oauthClient, refreshToken: '' }, 'refreshToken'],
    ['a service account without its key', { ...serviceAccount, privateKey: undefined }, 'privateKey'],
    ['a key that is no PEM', { ...serviceAccount, privateKey: 'MIIEunitTestKeyBody' }, 'not a PEM'],
    ['a password next to a refresh token', { ...oauthClient, password }, 'mixes the fields'],
    ['no known field at all', { username: 'me@example.com', token: 'x' }, 'password'],
  ])('refuses %s, naming the three shapes and no value', (_name, value, problem) => {
    const error = (() => {
      try {
        parseGmailSecret(JSON.stringify(value));
      } catch (caught) {
        return caught as ConfigError;
      }
    })();

    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.message).toContain(problem);
    expect(error?.message).toContain('"clientId","clientSecret","refreshToken"');
    expect(error?.message).toContain('"serviceClient","privateKey"');
    for (const secret of ['GOCSPX', '1//unit', 'MIIEunit', 'qrst'])
      expect(error?.message).not.toContain(secret);
  });

  it('fingerprints every shape by its secret parts, so a rotated refresh token or key counts as new', () => {
    const rotated = { ...oauthClient, refreshToken: '1//another' };

    expect(credentialsFingerprint(oauthClient)).not.toBe(credentialsFingerprint(rotated));
    expect(credentialsFingerprint(serviceAccount)).not.toBe(
      credentialsFingerprint({ ...serviceAccount, privateKey: `${privateKey} ` }),
    );
    expect(credentialsFingerprint(oauthClient)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('xoauth2Token', () => {
  it("encodes Google's XOAUTH2 initial response: user, ^A, auth=Bearer token, ^A^A", () => {
    const token = xoauth2Token('me@example.com', 'ya29.token');

    expect(Buffer.from(token, 'base64').toString('utf8')).toBe(
      'user=me@example.com\u0001auth=Bearer ya29.token\u0001\u0001',
    );
  });
});

describe('fetchGmailCredentials', () => {
  it('tells a missing secret (configuration) from throttling (transient)', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'missing' })
      .rejects(Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' }))
      .on(GetSecretValueCommand, { SecretId: 'busy' })
      .rejects(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    await expect(fetchGmailCredentials('missing', { maxAgeSeconds: 0 })).rejects.toBeInstanceOf(ConfigError);
    await expect(fetchGmailCredentials('busy', { maxAgeSeconds: 0 })).rejects.toBeInstanceOf(
      SecretUnavailableError,
    );
  });

  it('serves repeated reads from the cache until maxAge passes, and refetches when forced', async () => {
    secretsManager
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ username: 'me@example.com', password }) });
    await fetchGmailCredentials('cached', { maxAgeSeconds: 300 });
    await fetchGmailCredentials('cached', { maxAgeSeconds: 300 });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    await fetchGmailCredentials('cached', { maxAgeSeconds: 300, forceFetch: true });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});

describe('authPlainToken', () => {
  it('encodes NUL, username, NUL, password as base64, the SASL PLAIN response', () => {
    const token = authPlainToken({ username: 'me@example.com', password: 'qrstuvwxyzabcdef' });

    expect(Buffer.from(token, 'base64').toString('utf8')).toBe('\u0000me@example.com\u0000qrstuvwxyzabcdef');
    expect(token).not.toContain('qrst');
  });
});
