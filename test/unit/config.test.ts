import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/core/config.ts';
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
    [{ ...base, ALERT_ALLOWED_RECIPIENTS: '@' }, 'ALERT_ALLOWED_RECIPIENTS', '@domain'],
    [{ ...base, ALERT_FROM: 'alerts' }, 'ALERT_FROM', 'bare e-mail address'],
    [{ ...base, SECRET_CACHE_SECONDS: '-1' }, 'SECRET_CACHE_SECONDS', 'whole number'],
    [{ ...base, ALERT_QUEUE_URL: 'not a url' }, 'ALERT_QUEUE_URL', 'queue URL'],
    [{ ...base, ALERT_MAX_RECEIVES: '0' }, 'ALERT_MAX_RECEIVES', 'between 1 and 1000'],
  ])('names the variable and the problem for %j', (env, variable, problem) => {
    const error = configErrorOf(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
    expect(error.message).toContain(problem);
    expect(error.failureClass).toBe('config');
  });
});
