// The quota guard's state as people read it, on the local outbox page and in the doctor's report.
// Only types come from quota-guard.ts: the caller brings the guard, so this loads no DynamoDB client.
import type { QuotaGuard, QuotaUsage, QuotaVerdict } from './quota-guard.ts';

/** What the guard does with the next alert, in words. */
const GUARD_MODES: Record<QuotaVerdict, string> = {
  send: 'sending',
  fold: 'folding into digests',
  hold: 'holding',
};

/** The guard's count and what it would do with the next alert. */
export interface QuotaReading extends QuotaUsage {
  /** Whole per cent of the limit used, rounded down: 79.9 % never reads as the 80 % where folding starts. */
  percent: number;
  verdict: QuotaVerdict;
}

/**
 * Reads the guard's count and asks the guard itself what it would do with the next alert to
 * `recipients` addresses (ALERT_TO, or one when alerts name their own), keeping room for the holding
 * notice to as many, as the functions do.
 */
export async function readQuota(guard: QuotaGuard, recipients: number): Promise<QuotaReading> {
  const usage = await guard.usage();
  const next = Math.max(1, recipients);
  return {
    ...usage,
    percent: usage.limit > 0 ? Math.floor((usage.used / usage.limit) * 100) : 0,
    verdict: guard.verdict(usage, next, next),
  };
}

/**
 * One line: `312 of 500 recipients in the last 24 h (62 %): sending`.
 *
 * @example
 * quotaSummary(await readQuota(new QuotaGuard(clients, 500), 1));
 */
export function quotaSummary(reading: QuotaReading): string {
  return `${reading.used} of ${reading.limit} recipients in the last 24 h (${reading.percent} %): ${GUARD_MODES[reading.verdict]}`;
}
