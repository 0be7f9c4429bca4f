import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.ts';
import {
  ContractValueError,
  contractEnvironment,
  ENVIRONMENT_VARIABLES,
  parseSetting,
} from '../../functions/core/config-contract.ts';
import { ConfigError } from '../../functions/core/errors.ts';

const base = { GMAIL_SECRET_ID: 'gmail-alerts/app-password', ALERT_TO: 'oncall@example.com' };

function configErrorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(base);
    expect(config.smtp).toMatchObject({ host: 'smtp.gmail.com', port: 587, secure: false });
    expect(config.secretCacheSeconds).toBe(300);
    expect(config.alertFrom).toBeUndefined();
    expect([...config.allowedRecipients.addresses]).toEqual(['oncall@example.com']);
    expect(config.queueUrl).toBeUndefined();
    expect(config.maxReceives).toBeUndefined();
    expect(loadConfig({ ...base, ALERT_MAX_RECEIVES: '5' }).maxReceives).toBe(5);
    expect(config.stackName).toBe('gmail-alerts');
    expect(config.alertHeaders).toEqual({});
  });

  it('reads static X- headers for every mail from ALERT_HEADERS', () => {
    const config = loadConfig({ ...base, ALERT_HEADERS: '{"X-Team":"payments","X-Env":"prod"}' });
    expect(config.alertHeaders).toEqual({ 'X-Team': 'payments', 'X-Env': 'prod' });
  });

  it('defaults to implicit TLS only for port 465', () => {
    expect(loadConfig({ ...base, SMTP_PORT: '465' }).smtp.secure).toBe(true);
    expect(loadConfig({ ...base, SMTP_PORT: '2525' }).smtp.secure).toBe(false);
  });

  it('reads allow-list entries as exact addresses and @domains', () => {
    const config = loadConfig({ ...base, ALERT_ALLOWED_RECIPIENTS: 'CTO@Example.org, @ops.example.com' });
    expect([...config.allowedRecipients.addresses]).toEqual(['cto@example.org']);
    expect([...config.allowedRecipients.domains]).toEqual(['ops.example.com']);
  });

  it.each([
    [{}, 'GMAIL_SECRET_ID', 'is not set'],
    [{ ...base, SMTP_PORT: 'smtp' }, 'SMTP_PORT', 'whole number'],
    [{ ...base, SMTP_PORT: '70000' }, 'SMTP_PORT', 'between 1 and 65535'],
    [{ ...base, SMTP_PORT: '465', SMTP_SECURE: 'false' }, 'SMTP_SECURE', 'implicit TLS'],
    [{ ...base, SMTP_PORT: '587', SMTP_SECURE: 'true' }, 'SMTP_SECURE', 'STARTTLS'],
    [{ ...base, SMTP_SECURE: 'yes' }, 'SMTP_SECURE', '"true" or "false"'],
    [{ ...base, ALERT_TO: 'Ops <ops@example.com>' }, 'ALERT_TO', 'bare ASCII address'],
    [{ ...base, ALERT_TO: 'jörg@example.com' }, 'ALERT_TO', 'bare ASCII address'],
    [{ ...base, SMTP_HOST: 'smtp.gmail.com:587' }, 'SMTP_HOST', 'host name'],
    [{ ...base, POWERTOOLS_LOG_LEVEL: 'loud' }, 'POWERTOOLS_LOG_LEVEL', 'one of'],
    [{ ...base, ALERT_ALLOWED_RECIPIENTS: '@' }, 'ALERT_ALLOWED_RECIPIENTS', '@domain'],
    [{ ...base, ALERT_FROM: 'alerts' }, 'ALERT_FROM', 'bare e-mail address'],
    [{ ...base, SECRET_CACHE_SECONDS: '-1' }, 'SECRET_CACHE_SECONDS', 'whole number'],
    [{ ...base, ALERT_QUEUE_URL: 'not a url' }, 'ALERT_QUEUE_URL', 'queue URL'],
    [{ ...base, ALERT_MAX_RECEIVES: '0' }, 'ALERT_MAX_RECEIVES', 'between 1 and 1000'],
    [{ ...base, ALERT_HEADERS: 'X-Team: payments' }, 'ALERT_HEADERS', 'not JSON'],
    [{ ...base, ALERT_HEADERS: '["X-Team"]' }, 'ALERT_HEADERS', 'must be a JSON object'],
    [{ ...base, ALERT_HEADERS: '{"Subject":"x"}' }, 'ALERT_HEADERS', '"Subject" is not allowed'],
    [{ ...base, ALERT_HEADERS: '{"References":"<a@b>"}' }, 'ALERT_HEADERS', '"References" is not allowed'],
    [{ ...base, ALERT_HEADERS: '{"X-Alert-Severity":"info"}' }, 'ALERT_HEADERS', 'cannot be set'],
    [{ ...base, ALERT_HEADERS: '{"X-Team":"a\\r\\nBcc: x@evil.example"}' }, 'ALERT_HEADERS', 'one line'],
    [{ ...base, ALERT_HEADERS: '{"X-Team":1}' }, 'ALERT_HEADERS', 'string value'],
    [{ ...base, ALERT_STACK_NAME: 'my stack' }, 'ALERT_STACK_NAME', 'stack name'],
  ])('names the variable and the problem for %j', (env, variable, problem) => {
    const error = configErrorOf(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
    expect(error.message).toContain(problem);
    expect(error.failureClass).toBe('config');
  });
});

describe('GOOGLE_OAUTH_TOKEN_URL', () => {
  it("defaults to Google's token endpoint and takes another https URL, or http on loopback", () => {
    expect(loadConfig(base).oauthTokenUrl).toBe('https://oauth2.googleapis.com/token');
    expect(loadConfig({ ...base, GOOGLE_OAUTH_TOKEN_URL: 'http://127.0.0.1:4100/token' }).oauthTokenUrl).toBe(
      'http://127.0.0.1:4100/token',
    );
  });

  it.each([
    'http://oauth2.example.com/token',
    'oauth2.googleapis.com/token',
    'https://user:secret@oauth2.googleapis.com/token',
  ])('refuses %s, naming the variable', (value) => {
    const error = configErrorOf({ ...base, GOOGLE_OAUTH_TOKEN_URL: value });

    expect(error.variable).toBe('GOOGLE_OAUTH_TOKEN_URL');
    expect(error.message).toContain('must be an https:// URL');
  });
});

describe('SMTP_HOST of Amazon SES', () => {
  it('wants ALERT_FROM, since the SES user name is no sender address', () => {
    const ses = { ...base, SMTP_HOST: 'email-smtp.eu-west-1.amazonaws.com' };

    expect(configErrorOf(ses).variable).toBe('ALERT_FROM');
    expect(configErrorOf(ses).message).toContain('Amazon SES');
    expect(loadConfig({ ...ses, ALERT_FROM: 'alerts@example.com' }).smtp.host).toBe(
      'email-smtp.eu-west-1.amazonaws.com',
    );
    expect(() =>
      contractEnvironment({
        secretId: 's',
        smtpHost: 'email-smtp.eu-west-1.amazonaws.com',
        alertTo: ['a@example.com'],
      }),
    ).toThrow(ContractValueError);
  });

  it('lets the Workspace relay, like Gmail, send as the account', () => {
    expect(loadConfig({ ...base, SMTP_HOST: 'smtp-relay.gmail.com' }).alertFrom).toBeUndefined();
  });
});

describe('contractEnvironment', () => {
  const settings = {
    secretId: 'gmail-alerts/app-password',
    smtpHost: 'smtp.gmail.com',
    smtpPort: 465,
    alertTo: ['Oncall@Example.com', 'team@example.com'],
    allowedRecipients: ['@ops.example.com', 'cto@example.org'],
    alertFrom: 'alerts@example.com',
    secretCacheSeconds: 600,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/alerts',
    maxReceives: 5,
    logLevel: 'DEBUG' as const,
  };

  it('writes an environment that loadConfig reads back to the same settings', () => {
    const environment = contractEnvironment(settings);
    const config = loadConfig(environment);
    expect(config.smtp).toMatchObject({ host: 'smtp.gmail.com', port: 465, secure: true });
    expect(config.alertTo).toEqual(['oncall@example.com', 'team@example.com']);
    expect([...config.allowedRecipients.domains]).toEqual(['ops.example.com']);
    expect([...config.allowedRecipients.addresses]).toEqual(['cto@example.org']);
    expect(config).toMatchObject({
      secretId: settings.secretId,
      alertFrom: 'alerts@example.com',
      secretCacheSeconds: 600,
      queueUrl: settings.queueUrl,
      maxReceives: 5,
    });
    expect(environment).toMatchObject({
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_SERVICE_NAME: 'gmail-alerts',
    });
  });

  it('uses only the variable names of the contract', () => {
    const names = Object.keys(contractEnvironment(settings));
    expect(names.every((name) => (Object.values(ENVIRONMENT_VARIABLES) as string[]).includes(name))).toBe(
      true,
    );
  });

  it('leaves out what is not given, and states the TLS mode whenever the port is given', () => {
    expect(contractEnvironment({ secretId: 's' })).toEqual({
      GMAIL_SECRET_ID: 's',
      POWERTOOLS_SERVICE_NAME: 'gmail-alerts',
    });
    expect(contractEnvironment({ secretId: 's', smtpPort: 587, alertTo: [] })).toEqual({
      GMAIL_SECRET_ID: 's',
      SMTP_PORT: '587',
      SMTP_SECURE: 'false',
      POWERTOOLS_SERVICE_NAME: 'gmail-alerts',
    });
  });

  it('writes values known only at deploy time unchecked', () => {
    const token = 'Token[TOKEN.42]';
    const environment = contractEnvironment(
      { secretId: token, queueUrl: token, alertTo: ['oncall@example.com'] },
      { isDeployTimeValue: (value) => value === token },
    );
    expect(environment).toMatchObject({ GMAIL_SECRET_ID: token, ALERT_QUEUE_URL: token });
  });

  it.each([
    [{ alertTo: ['jörg@example.com'] }, 'alertTo', 'ALERT_TO', 'bare ASCII address'],
    [{ alertTo: ['Ops <ops@example.com>'] }, 'alertTo', 'ALERT_TO', 'bare ASCII address'],
    [
      { allowedRecipients: ['example.com'] },
      'allowedRecipients',
      'ALERT_ALLOWED_RECIPIENTS',
      'single address',
    ],
    [{ alertFrom: 'alerts' }, 'alertFrom', 'ALERT_FROM', 'bare e-mail address'],
    [{ smtpPort: 0 }, 'smtpPort', 'SMTP_PORT', 'between 1 and 65535'],
    [{ smtpPort: 587, smtpSecure: true }, 'smtpSecure', 'SMTP_SECURE', 'STARTTLS'],
    [{ smtpHost: 'smtp gmail' }, 'smtpHost', 'SMTP_HOST', 'host name'],
    [{ secretId: ' ' }, 'secretId', 'GMAIL_SECRET_ID', 'is not set'],
    [{ queueUrl: 'queue' }, 'queueUrl', 'ALERT_QUEUE_URL', 'queue URL'],
  ])('rejects %j, naming %s (%s)', (overrides, setting, variable, problem) => {
    let caught: unknown;
    try {
      contractEnvironment({ secretId: 's', ...overrides });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ContractValueError);
    const error = caught as ContractValueError;
    expect(error.setting).toBe(setting);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
    expect(error.problem).toContain(problem);
  });
});

describe('parseSetting', () => {
  it('reads the text form the environment and the command line share', () => {
    expect(parseSetting('alertTo', ' A@example.com, ,b@example.com ')).toEqual([
      'a@example.com',
      'b@example.com',
    ]);
    expect(parseSetting('smtpPort', '465')).toBe(465);
    expect(parseSetting('logLevel', 'warn')).toBe('WARN');
    expect(parseSetting('smtpHost', 'SMTP.Gmail.com')).toBe('smtp.gmail.com');
    expect(parseSetting('smtpHost', '127.0.0.1')).toBe('127.0.0.1');
    expect(parseSetting('smtpHost', '::1')).toBe('::1');
  });
});
