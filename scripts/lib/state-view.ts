// What the local state table says the guards are doing, for the outbox page: the quota count, the
// repeat windows, the pending digests and the silences. A Scan is fine on loopback; the functions
// themselves never scan.
import type { Severity } from '../../functions/core/alert.ts';
import { readContract, STATE_TABLE_SCHEMA } from '../../functions/core/config-contract.ts';
import type { DigestEntry } from '../../functions/core/digest.ts';
import { DIGEST_INTERVAL_SECONDS, QuotaGuard } from '../../functions/core/quota-guard.ts';
import { type QuotaReading, readQuota } from '../../functions/core/quota-reading.ts';
import { activeSilenceOf, type Silence, type SilenceItem } from '../../functions/core/silences.ts';
import type { LocalCloud } from '../../local/local-cloud.ts';

/** A key mailed within its repeat window, or one whose counted repeats wait for its next mail. */
export interface RepeatWindowView {
  key: string;
  severity: Severity | undefined;
  /** When the key's last mail went out (epoch ms). */
  lastMailAt: number;
  /** When the window ends and the next firing alert is mailed (epoch ms). */
  endsAt: number;
  ended: boolean;
  /** Firing alerts counted instead of mailed, and when the first of them arrived (epoch ms). */
  repeats: number;
  since: number | undefined;
}

/** Alerts folded into one recipient list's digest, waiting for its sending. */
export interface PendingDigest {
  recipients: string[];
  entries: DigestEntry[];
  /** When the digest is sent (epoch ms); undefined when no sending is scheduled. */
  sendsAt: number | undefined;
}

/** A key silenced now. */
export type ActiveSilence = Silence;

/** Everything the outbox page shows above the mails. */
export interface StateView {
  quota: QuotaReading;
  repeatWindows: RepeatWindowView[];
  digests: PendingDigest[];
  silences: ActiveSilence[];
}

const { prefixes, partitionKey } = STATE_TABLE_SCHEMA;

const numberOr = (value: unknown) => (typeof value === 'number' ? value : undefined);

/**
 * Reads the local state table as the functions configured by `cloud` see it: their GMAIL_DAILY_LIMIT
 * and ALERT_REPEAT_SECONDS, the guard's own count. Undefined when the cloud runs without the table.
 */
export async function readStateView(
  cloud: LocalCloud,
  now: number = Date.now(),
): Promise<StateView | undefined> {
  const { state } = cloud;
  if (!state) return undefined;
  const settings = readContract(cloud.env);
  const [quota, items] = await Promise.all([
    readQuota(new QuotaGuard(state.clients, settings.gmailDailyLimit, () => now), settings.alertTo.length),
    state.items(),
  ]);
  const keyed = (prefix: string) =>
    items
      .filter((item) => String(item[partitionKey]).startsWith(prefix))
      .map((item) => ({ key: String(item[partitionKey]).slice(prefix.length), item }));

  const repeatWindows = keyed(prefixes.repeat)
    .flatMap(({ key, item }): RepeatWindowView[] => {
      const lastMailAt = numberOr(item.lastSentAt);
      const repeats = numberOr(item.repeats) ?? 0;
      // A resolved alert closes the window (its item keeps no lastSentAt).
      if (lastMailAt === undefined) return [];
      const endsAt = lastMailAt + settings.repeatSeconds * 1000;
      // An ended window matters only while its counted repeats wait for the key's next mail.
      if (endsAt <= now && repeats === 0) return [];
      return [
        {
          key,
          severity: typeof item.severity === 'string' ? (item.severity as Severity) : undefined,
          lastMailAt,
          endsAt,
          ended: endsAt <= now,
          repeats,
          since: numberOr(item.since),
        },
      ];
    })
    .sort((a, b) => b.lastMailAt - a.lastMailAt);

  const digests = keyed(prefixes.digest)
    .flatMap(({ item }): PendingDigest[] => {
      const entries = Array.isArray(item.entries) ? (item.entries as DigestEntry[]) : [];
      if (entries.length === 0) return [];
      const scheduled = numberOr(item.flushScheduledAt);
      return [
        {
          recipients: Array.isArray(item.recipients) ? item.recipients.map(String) : [],
          entries,
          sendsAt: scheduled === undefined ? undefined : scheduled + DIGEST_INTERVAL_SECONDS * 1000,
        },
      ];
    })
    .sort((a, b) => (a.sendsAt ?? Infinity) - (b.sendsAt ?? Infinity));

  const silences = keyed(prefixes.silence)
    .flatMap(({ key, item }) => activeSilenceOf(key, item as SilenceItem, now) ?? [])
    .sort((a, b) => a.until - b.until);

  return { quota, repeatWindows, digests, silences };
}
