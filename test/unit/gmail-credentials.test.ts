import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, SecretUnavailableError } from '../../functions/core/errors.ts';
import {
  authPlainToken,
  fetchGmailCredentials,
  parseGmailSecret,
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
