import { describe, expect, it } from 'vitest';
import { mailHeaders, threadId } from '../../functions/core/mail-headers.ts';

const options = { from: 'alerts@Example.com', stackName: 'GmailAlerts', custom: {} };
const alert = {
  severity: 'critical',
  status: 'firing',
  source: 'aws.cloudwatch',
  dedupKey: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx-rate',
} as const;

describe('mailHeaders', () => {
  it('marks every mail as auto-generated and names the stack in List-Id', () => {
    const headers = mailHeaders({ ...alert, dedupKey: undefined }, 'normal', options);
    expect(headers['Auto-Submitted']).toBe('auto-generated');
    expect(headers['List-Id']).toBe('gmailalerts alerts <gmailalerts.example.com>');
  });

  it('carries severity, status, source and key for filters', () => {
    expect(mailHeaders(alert, 'high', options)).toMatchObject({
      'X-Alert-Severity': 'critical',
      'X-Alert-Status': 'firing',
      'X-Alert-Source': 'aws.cloudwatch',
      'X-Alert-Key': alert.dedupKey,
      'X-Priority': '1 (Highest)',
      Importance: 'High',
    });
  });

  it('refers every mail of one key to the same thread id, firing or resolved', () => {
    const firing = mailHeaders(alert, 'high', options);
    const resolved = mailHeaders({ ...alert, status: 'resolved', severity: 'info' }, 'normal', options);
    expect(firing.References).toMatch(/^<alert\.[0-9a-f]{32}@example\.com>$/);
    expect(resolved.References).toBe(firing.References);
    expect(resolved['In-Reply-To']).toBe(firing.References);
  });

  it('gives other keys and other stacks their own thread', () => {
    const id = threadId(alert.dedupKey, options);
    expect(threadId(`${alert.dedupKey}-2`, options)).not.toBe(id);
    expect(threadId(alert.dedupKey, { ...options, stackName: 'Staging' })).not.toBe(id);
  });

  it('leaves out the thread headers for an alert without a key', () => {
    const headers = mailHeaders({ ...alert, dedupKey: undefined }, 'normal', options);
    expect(headers).not.toHaveProperty('References');
    expect(headers).not.toHaveProperty('X-Alert-Key');
  });

  it("adds the operator's static headers without letting them replace the product's own", () => {
    const headers = mailHeaders(alert, 'normal', { ...options, custom: { 'X-Team': 'payments' } });
    expect(headers['X-Team']).toBe('payments');
    expect(headers['X-Alert-Severity']).toBe('critical');
  });
});
