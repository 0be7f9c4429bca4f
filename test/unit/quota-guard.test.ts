import { describe, expect, it } from 'vitest';
import { readContract } from '../../functions/core/config-contract.ts';
import { digestAlert, holdingNoticeAlert } from '../../functions/core/digest.ts';
import { digestKeyOf, QuotaGuard } from '../../functions/core/quota-guard.ts';
import type { StateClients } from '../../functions/core/state-store.ts';

// The thresholds need no table: verdict() is pure.
const guard = new QuotaGuard({} as StateClients, 500);

describe('QuotaGuard.verdict', () => {
  it('mails below 80 % of the limit', () => {
    expect(guard.verdict({ used: 399, limit: 500 }, 1, 1)).toBe('send');
  });

  it('folds into a digest from 80 %', () => {
    expect(guard.verdict({ used: 400, limit: 500 }, 1, 1)).toBe('fold');
    expect(guard.verdict({ used: 498, limit: 500 }, 1, 1)).toBe('fold');
  });

  it('holds when a mail would leave no room for the notice to the reserved recipients', () => {
    expect(guard.verdict({ used: 499, limit: 500 }, 1, 1)).toBe('hold');
    expect(guard.verdict({ used: 396, limit: 500 }, 100, 5)).toBe('hold');
    expect(guard.verdict({ used: 500, limit: 500 }, 1, 0)).toBe('hold');
  });
});

describe('digestKeyOf', () => {
  it('gives one digest per recipient list, whatever its order', () => {
    expect(digestKeyOf(['b@example.com', 'a@example.com'])).toBe(
      digestKeyOf(['a@example.com', 'b@example.com']),
    );
    expect(digestKeyOf(['a@example.com'])).not.toBe(digestKeyOf(['a@example.com', 'b@example.com']));
    expect(digestKeyOf(['a@example.com'])).toMatch(/^digest#[0-9a-f]{32}$/);
  });
});

describe('digest mails', () => {
  it('lists every folded alert with severity, subject, status, time and key, at the worst severity', () => {
    const alert = digestAlert(
      [
        {
          subject: 'Disk 91%',
          severity: 'warning',
          status: 'firing',
          time: '2026-12-01T10:00:00.000Z',
          dedupKey: 'disk',
        },
        { subject: 'API down', severity: 'critical', status: 'resolved', time: '2026-12-01T10:01:00.000Z' },
      ],
      ['oncall@example.com'],
      { used: 410, limit: 500 },
    );
    expect(alert.subject).toBe('Digest of 2 alerts (Gmail sending quota guard)');
    expect(alert.severity).toBe('critical');
    expect(alert.text).toContain('- [WARNING] Disk 91% at 2026-12-01T10:00:00.000Z, key disk');
    expect(alert.text).toContain('- [CRITICAL] API down (resolved) at 2026-12-01T10:01:00.000Z');
    expect(alert.text).toContain('410 of the 500 recipients');
  });

  it('says in the notice that alerts are held, not dropped', () => {
    const notice = holdingNoticeAlert(['oncall@example.com'], { used: 499, limit: 500 });
    expect(notice.severity).toBe('critical');
    expect(notice.text).toMatch(/wait on the alerts queue/);
    expect(notice.text).toMatch(/Nothing is dropped/);
  });
});

describe('contract', () => {
  const base = { GMAIL_SECRET_ID: 'gmail-alerts/smtp' };

  it('defaults to 4 h of repeat interval, a 500 daily limit and no state table', () => {
    expect(readContract(base)).toMatchObject({
      repeatSeconds: 14400,
      gmailDailyLimit: 500,
      stateTable: undefined,
    });
  });

  it('reads the state table, the repeat interval and the Workspace limit', () => {
    expect(
      readContract({
        ...base,
        ALERT_STATE_TABLE: 'GmailAlerts-StateTable1234',
        ALERT_REPEAT_SECONDS: '0',
        GMAIL_DAILY_LIMIT: '2000',
      }),
    ).toMatchObject({ stateTable: 'GmailAlerts-StateTable1234', repeatSeconds: 0, gmailDailyLimit: 2000 });
  });

  it('names the variable of a wrong value', () => {
    expect(() => readContract({ ...base, GMAIL_DAILY_LIMIT: 'lots' })).toThrow(
      /^GMAIL_DAILY_LIMIT: must be a whole number/,
    );
    expect(() => readContract({ ...base, ALERT_STATE_TABLE: 'a b' })).toThrow(
      /^ALERT_STATE_TABLE: must be a DynamoDB table/,
    );
  });
});
