import { expect } from 'vitest';

/** `npm start`'s settings for the storm: a limit that folds after eight mails. */
export const STORM_ENV = { GMAIL_DAILY_LIMIT: '10' };

/** What the storm left in the state table, as the HTTP answers told it. */
export interface GuardStorm {
  /** The key mailed once and then counted twice. */
  repeatedKey: string;
  /** The key's mail and its first counted repeat (ISO 8601). */
  lastMailAt: string;
  since: string;
  /** The alert the guard folded into the digest of oncall@example.com. */
  folded: { subject: string; key: string };
}

const post = async (baseUrl: string, alert: Record<string, unknown>) => {
  const response = await fetch(`${baseUrl}/alerts`, {
    method: 'POST',
    headers: { 'x-api-key': 'local-dev-key', 'content-type': 'application/json' },
    body: JSON.stringify(alert),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

/**
 * Against `npm start` with {@link STORM_ENV}: a keyed alert mailed and then repeated twice (counted,
 * not mailed), seven more alerts mailed (8 of the 10 recipients used), and one alert the guard folds
 * into a digest, since 80 % is used. Every alert goes to oncall@example.com alone.
 */
export async function sendGuardStorm(baseUrl: string): Promise<GuardStorm> {
  const repeated = { subject: 'Disk almost full on db-1', severity: 'warning', dedupKey: 'db-1-disk-var' };
  expect((await post(baseUrl, repeated)).status).toBe(200);
  const first = await post(baseUrl, repeated);
  const second = await post(baseUrl, repeated);
  expect([first.status, second.status]).toEqual([202, 202]);
  expect(second.body).toMatchObject({ counted: true, repeats: 2, since: first.body.since });
  for (let index = 1; index <= 7; index += 1) {
    const mailed = await post(baseUrl, { subject: `Checkout 5xx above 5% (${index})`, severity: 'high' });
    expect(mailed.status).toBe(200);
  }
  const folded = { subject: 'Replica lag <b>31 s</b> & rising', key: 'replica-lag' };
  const fold = await post(baseUrl, { subject: folded.subject, severity: 'critical', dedupKey: folded.key });
  expect(fold).toEqual({ status: 202, body: { folded: true } });
  return {
    repeatedKey: repeated.dedupKey,
    lastMailAt: String(second.body.lastMailAt),
    since: String(second.body.since),
    folded,
  };
}

/** A time as the outbox page shows it: `2026-11-25 16:45:01 UTC`. */
export function pageTime(time: string | number): string {
  return `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
