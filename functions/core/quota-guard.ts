import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from './alert.ts';
import { STATE_TABLE_SCHEMA } from './config-contract.ts';
import { DIGEST_FROM_SHARE, type DigestEntry, digestEntryOf } from './digest.ts';
import type { StateClients } from './state-store.ts';

/** How long a digest collects alerts before it is sent ("one mail every few minutes"). */
export const DIGEST_INTERVAL_SECONDS = 300;

const HOUR_MS = 60 * 60 * 1000;
// Gmail counts a rolling 24 h; hourly buckets over the last 25 hours never count a send out too early
// (at worst one hour too late, which errs on the side of holding).
const WINDOW_BUCKETS = 25;
const DAY_MS = 24 * HOUR_MS;
// A digest that waits out a whole quota hold (up to 25 h) must still be there afterwards.
const DIGEST_KEEP_SECONDS = 7 * 24 * 60 * 60;
/** The read of the counters in flight, which alerts of one container arriving together share. */
interface SharedUsage {
  used: Promise<number>;
  /** Recipients this container counted (or gave back) since the read started. */
  countedSince: number;
}

/** What the guard says about a mail to `recipients` addresses. */
export type QuotaVerdict = 'send' | 'fold' | 'hold';

export interface QuotaUsage {
  used: number;
  limit: number;
}

/** A digest claimed for sending: its entries and recipients, and how to put them back. */
export interface ClaimedDigest {
  entries: DigestEntry[];
  to: string[];
  restore(): Promise<void>;
}

/** The digest a set of recipients shares: one per distinct recipient list, so nobody reads another team's alerts. */
export function digestKeyOf(to: string[]): string {
  const recipients = [...to].sort().join(',');
  return `${STATE_TABLE_SCHEMA.prefixes.digest}${createHash('sha256').update(recipients).digest('hex').slice(0, 32)}`;
}

/**
 * Gmail's sending quota, counted in the state table: recipients sent per hour over a rolling 24 h,
 * against GMAIL_DAILY_LIMIT. Below 80 % alerts are mailed; from 80 % they are folded into a digest
 * per recipient list; when a mail would leave no room for one last notice, alerts are held.
 */
export class QuotaGuard {
  readonly #state: StateClients;
  readonly #limit: number;
  readonly #now: () => number;
  #shared: SharedUsage | undefined;

  constructor(state: StateClients, limit: number, now: () => number = Date.now) {
    this.#state = state;
    this.#limit = limit;
    this.#now = now;
  }

  #bucketKey(epochMs: number): string {
    const hour = new Date(Math.floor(epochMs / HOUR_MS) * HOUR_MS).toISOString().slice(0, 13);
    return `${STATE_TABLE_SCHEMA.prefixes.quota}sent#${hour}`;
  }

  /**
   * Recipients sent in the rolling window. Alerts that ask while a read is in flight (the records of
   * a batch, or the first alert while the read started at init is on its way) share it, with what
   * this container counted meanwhile added: ten alerts at once cost one read, not ten.
   */
  async usage(): Promise<QuotaUsage> {
    let shared = this.#shared;
    if (!shared) {
      const fresh: SharedUsage = { used: this.#read(this.#now()), countedSince: 0 };
      const done = () => {
        if (this.#shared === fresh) this.#shared = undefined;
      };
      fresh.used.then(done, done);
      this.#shared = fresh;
      shared = fresh;
    }
    const used = await shared.used;
    return { used: Math.max(0, used + shared.countedSince), limit: this.#limit };
  }

  /** Starts reading the counters at init: the table's connection opens beside the secret's. */
  prefetch(): void {
    this.usage().catch(() => undefined);
  }

  async #read(now: number): Promise<number> {
    const items = await Promise.all(
      Array.from({ length: WINDOW_BUCKETS }, (_, index) =>
        this.#state.reads.get(this.#bucketKey(now - index * HOUR_MS)),
      ),
    );
    return items.reduce((sum, item) => sum + (typeof item?.sent === 'number' ? item.sent : 0), 0);
  }

  /**
   * Whether a mail to `recipients` addresses may go out now. `reserve` recipients are kept for the
   * notice that the guard is holding, so that notice is the last mail before the limit.
   */
  verdict(usage: QuotaUsage, recipients: number, reserve: number): QuotaVerdict {
    if (usage.used + recipients > usage.limit - reserve) return 'hold';
    if (usage.used >= usage.limit * DIGEST_FROM_SHARE) return 'fold';
    return 'send';
  }

  /**
   * Counts recipients in the current hour: those a mail is about to reach, counted while it is sent;
   * a negative number gives back those Gmail did not take.
   */
  async record(recipients: number): Promise<void> {
    if (recipients === 0) return;
    if (this.#shared) this.#shared.countedSince += recipients;
    const now = this.#now();
    await this.#state.documents.send(
      new UpdateCommand({
        TableName: this.#state.tableName,
        Key: { [STATE_TABLE_SCHEMA.partitionKey]: this.#bucketKey(now) },
        UpdateExpression: 'ADD sent :sent SET #ttl = :expiresAt',
        ExpressionAttributeNames: { '#ttl': STATE_TABLE_SCHEMA.ttlAttribute },
        ExpressionAttributeValues: {
          ':sent': recipients,
          ':expiresAt': Math.ceil((now + DAY_MS + 2 * HOUR_MS) / 1000),
        },
      }),
    );
  }

  /**
   * Adds `alert` to the digest of its recipients. Returns the digest's key when this alert is the
   * first since the digest was last sent, so the caller schedules the digest's sending.
   */
  async fold(alert: Alert): Promise<{ digestKey: string; scheduleFlush: boolean }> {
    const now = this.#now();
    const digestKey = digestKeyOf(alert.to);
    const { Attributes } = await this.#state.documents.send(
      new UpdateCommand({
        TableName: this.#state.tableName,
        Key: { [STATE_TABLE_SCHEMA.partitionKey]: digestKey },
        UpdateExpression:
          'SET entries = list_append(if_not_exists(entries, :empty), :entry), recipients = :to, flushScheduledAt = if_not_exists(flushScheduledAt, :now), #ttl = :expiresAt',
        ExpressionAttributeNames: { '#ttl': STATE_TABLE_SCHEMA.ttlAttribute },
        ExpressionAttributeValues: {
          ':empty': [],
          ':entry': [digestEntryOf(alert, new Date(now))],
          ':to': alert.to,
          ':now': now,
          ':expiresAt': Math.ceil(now / 1000) + DIGEST_KEEP_SECONDS,
        },
        ReturnValues: 'UPDATED_OLD',
      }),
    );
    return { digestKey, scheduleFlush: Attributes?.flushScheduledAt === undefined };
  }

  /** Forgets that a digest's sending was scheduled (the schedule could not be queued). */
  async unschedule(digestKey: string): Promise<void> {
    await this.#state.documents.send(
      new UpdateCommand({
        TableName: this.#state.tableName,
        Key: { [STATE_TABLE_SCHEMA.partitionKey]: digestKey },
        UpdateExpression: 'REMOVE flushScheduledAt',
      }),
    );
  }

  /**
   * Takes every entry of a digest for sending, atomically: alerts folded meanwhile start the next
   * digest (and schedule it). Undefined when there is nothing to send.
   */
  async claimDigest(digestKey: string): Promise<ClaimedDigest | undefined> {
    let previous: Record<string, unknown> | undefined;
    try {
      ({ Attributes: previous } = await this.#state.documents.send(
        new UpdateCommand({
          TableName: this.#state.tableName,
          Key: { [STATE_TABLE_SCHEMA.partitionKey]: digestKey },
          UpdateExpression: 'REMOVE entries, flushScheduledAt',
          ConditionExpression: 'attribute_exists(entries)',
          ReturnValues: 'ALL_OLD',
        }),
      ));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
    const entries = (previous?.entries ?? []) as DigestEntry[];
    const to = (previous?.recipients ?? []) as string[];
    if (entries.length === 0 || to.length === 0) return undefined;
    return {
      entries,
      to,
      restore: async () => {
        // Back in front of whatever was folded meanwhile, so the next sending has them all in order.
        await this.#state.documents.send(
          new UpdateCommand({
            TableName: this.#state.tableName,
            Key: { [STATE_TABLE_SCHEMA.partitionKey]: digestKey },
            UpdateExpression:
              'SET entries = list_append(:entries, if_not_exists(entries, :empty)), recipients = :to',
            ExpressionAttributeValues: { ':entries': entries, ':empty': [], ':to': to },
          }),
        );
      },
    };
  }

  /**
   * Claims the one notice of a hold: true for the first caller in 24 hours, who sends it. The notice
   * uses the room the guard kept for it.
   */
  async claimHoldingNotice(): Promise<boolean> {
    const now = this.#now();
    try {
      await this.#state.documents.send(
        new PutCommand({
          TableName: this.#state.tableName,
          Item: {
            [STATE_TABLE_SCHEMA.partitionKey]: `${STATE_TABLE_SCHEMA.prefixes.quota}holding-notice`,
            noticedAt: now,
            [STATE_TABLE_SCHEMA.ttlAttribute]: Math.ceil((now + DAY_MS) / 1000),
          },
          ConditionExpression: 'attribute_not_exists(noticedAt) OR noticedAt < :dayAgo',
          ExpressionAttributeValues: { ':dayAgo': now - DAY_MS },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
