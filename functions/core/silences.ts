import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert } from './alert.ts';
import { STATE_TABLE_SCHEMA } from './config-contract.ts';
import { reportStateStoreFailure, type StateClients, StateStoreError } from './state-store.ts';

/** The lengths a silence link offers, in hours. */
export const SILENCE_HOURS = [1, 4, 24] as const;
/** "Until resolved" has no end of its own; the table forgets it after this long all the same. */
export const UNTIL_RESOLVED_SECONDS = 30 * 24 * 60 * 60;
// An ended silence stays this long so the key's next mail can tell what it hid.
const KEEP_AFTER_END_SECONDS = 7 * 24 * 60 * 60;

/** One key's silence, as the page shows it. */
export interface Silence {
  key: string;
  /** When it ends (epoch ms); for "until resolved", the far limit of {@link UNTIL_RESOLVED_SECONDS}. */
  until: number;
  untilResolved: boolean;
  /** The subject of the alert whose link set it. */
  subject: string;
  /** Firing alerts held back so far. */
  hidden: number;
}

/** The firing alerts of a key that a silence held back, told in the key's next mail. */
export interface HiddenSummary {
  count: number;
  /** When the first of them arrived (ISO 8601, UTC). */
  since: string;
}

/** A silence's say on an alert. */
export type SilenceVerdict =
  | {
      action: 'hide';
      /** Counts the alert under the silence: what it has hidden so far, and when it ends. */
      count(): Promise<{ hidden: number; until: string }>;
    }
  | {
      action: 'pass';
      /** What an ended silence hid, now told; undefined when it hid nothing. */
      hidden: HiddenSummary | undefined;
      /** Puts the told count back when the mail did not go out. */
      release(): Promise<void>;
    };

/** One key's item (`silence#<key>`), as stored. */
export interface SilenceItem {
  until?: number;
  untilResolved?: boolean;
  subject?: string;
  hidden?: number;
  hiddenSince?: number;
}

/** A key's stored silence item as a silence, while it lasts at `now`; undefined once it has ended. */
export function activeSilenceOf(
  key: string,
  item: SilenceItem | undefined,
  now: number,
): Silence | undefined {
  if (!item?.until || item.until <= now) return undefined;
  return {
    key,
    until: item.until,
    untilResolved: item.untilResolved === true,
    subject: item.subject ?? '',
    hidden: item.hidden ?? 0,
  };
}

// Attribute names always go through placeholders: DynamoDB reserves hundreds of plain words.
const HIDDEN_NAMES = { '#hidden': 'hidden', '#hiddenSince': 'hiddenSince' };

/** The verdict on an alert no silence holds back and that brings no hidden count with it. */
export const NOT_SILENCED: SilenceVerdict = { action: 'pass', hidden: undefined, release: async () => {} };
const iso = (epochMs: number) => new Date(epochMs).toISOString();

/**
 * Silences per key in the state table (`silence#<key>`, TTL `expiresAt`). While one is active the
 * key's firing alerts are counted, not mailed; its resolved alert goes out and ends an "until
 * resolved" silence. Once it has ended, the key's next mail tells how many it hid. If the table
 * fails, the alert goes out.
 */
export class SilenceStore {
  readonly #state: StateClients;
  readonly #now: () => number;

  constructor(state: StateClients, now: () => number = Date.now) {
    this.#state = state;
    this.#now = now;
  }

  /** The partition key of `key`'s item. */
  #itemKey(key: string): string {
    return `${STATE_TABLE_SCHEMA.prefixes.silence}${key}`;
  }

  #keyOf(key: string) {
    return { [STATE_TABLE_SCHEMA.partitionKey]: this.#itemKey(key) };
  }

  async #read(key: string): Promise<SilenceItem | undefined> {
    // With the quota counters and the other alerts of the moment, in one request.
    return (await this.#state.reads.get(this.#itemKey(key))) as SilenceItem | undefined;
  }

  /** The key's silence while it lasts; undefined when there is none, or it has ended. */
  async active(key: string): Promise<Silence | undefined> {
    return activeSilenceOf(key, await this.#read(key), this.#now());
  }

  /** Silences `key` for `hours`, or until its resolved alert (`'resolved'`); replaces any silence it had. */
  async silence(key: string, subject: string, hours: number | 'resolved'): Promise<Silence> {
    const now = this.#now();
    const untilResolved = hours === 'resolved';
    const until = now + (untilResolved ? UNTIL_RESOLVED_SECONDS : hours * 3600) * 1000;
    await this.#state.documents.send(
      new UpdateCommand({
        TableName: this.#state.tableName,
        Key: this.#keyOf(key),
        UpdateExpression:
          'SET #until = :until, #untilResolved = :untilResolved, #subject = :subject, #ttl = :expiresAt',
        ExpressionAttributeNames: {
          '#until': 'until',
          '#untilResolved': 'untilResolved',
          '#subject': 'subject',
          '#ttl': STATE_TABLE_SCHEMA.ttlAttribute,
        },
        ExpressionAttributeValues: {
          ':until': until,
          ':untilResolved': untilResolved,
          ':subject': subject,
          ':expiresAt': Math.ceil(until / 1000) + KEEP_AFTER_END_SECONDS,
        },
      }),
    );
    const current = await this.active(key);
    return current ?? { key, until, untilResolved, subject, hidden: 0 };
  }

  /** Ends the key's silence now; what it hid is told in the key's next mail. */
  async end(key: string): Promise<void> {
    const now = this.#now();
    try {
      await this.#state.documents.send(
        new UpdateCommand({
          TableName: this.#state.tableName,
          Key: this.#keyOf(key),
          UpdateExpression: 'SET #until = :now, #ttl = :expiresAt',
          ConditionExpression: '#until > :now',
          ExpressionAttributeNames: { '#until': 'until', '#ttl': STATE_TABLE_SCHEMA.ttlAttribute },
          ExpressionAttributeValues: {
            ':now': now,
            ':expiresAt': Math.ceil(now / 1000) + KEEP_AFTER_END_SECONDS,
          },
        }),
      );
    } catch (error) {
      // Nothing active to end: ending twice is not an error.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * Decides whether `alert` is held back by its key's silence. A firing alert of a silenced key is
   * counted (`hide`); anything else passes, and takes with it what an ended silence hid.
   */
  async admit(alert: Alert, context: Record<string, unknown> = {}): Promise<SilenceVerdict> {
    if (!alert.dedupKey) return NOT_SILENCED;
    const key = alert.dedupKey;
    try {
      const item = await this.#read(key);
      // Most keys were never silenced: one read, and the alert goes on.
      if (!item) return NOT_SILENCED;
      const silence = activeSilenceOf(key, item, this.#now());
      // Counted only once the alert is known to go no further (see admission.ts).
      if (silence && alert.status === 'firing') return { action: 'hide', count: () => this.#hide(key) };
      if (silence && !silence.untilResolved) return NOT_SILENCED;
      if (silence) await this.end(key);
      else if (!item.hidden) return NOT_SILENCED;
      return await this.#takeHidden(key);
    } catch (error) {
      reportStateStoreFailure(new StateStoreError('silence-check', { cause: error }), {
        ...context,
        dedupKey: key,
      });
      return NOT_SILENCED;
    }
  }

  async #hide(key: string): Promise<{ hidden: number; until: string }> {
    const now = this.#now();
    const { Attributes } = await this.#state.documents.send(
      new UpdateCommand({
        TableName: this.#state.tableName,
        Key: this.#keyOf(key),
        UpdateExpression: 'ADD #hidden :one SET #hiddenSince = if_not_exists(#hiddenSince, :now)',
        ExpressionAttributeNames: HIDDEN_NAMES,
        ExpressionAttributeValues: { ':one': 1, ':now': now },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = (Attributes ?? {}) as SilenceItem;
    return { hidden: item.hidden ?? 1, until: iso(item.until ?? now) };
  }

  /** Takes an ended silence's count, once: two alerts at the same moment cannot both tell it. */
  async #takeHidden(key: string): Promise<SilenceVerdict> {
    const now = this.#now();
    try {
      const { Attributes } = await this.#state.documents.send(
        new UpdateCommand({
          TableName: this.#state.tableName,
          Key: this.#keyOf(key),
          UpdateExpression: 'REMOVE #hidden, #hiddenSince',
          ConditionExpression: '#hidden > :zero AND #until <= :now',
          ExpressionAttributeNames: { ...HIDDEN_NAMES, '#until': 'until' },
          ExpressionAttributeValues: { ':zero': 0, ':now': now },
          ReturnValues: 'ALL_OLD',
        }),
      );
      const item = (Attributes ?? {}) as SilenceItem;
      const count = item.hidden ?? 0;
      const since = item.hiddenSince ?? now;
      return {
        action: 'pass',
        hidden: { count, since: iso(since) },
        release: () => this.#putBack(key, count, since),
      };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return NOT_SILENCED;
      throw error;
    }
  }

  async #putBack(key: string, count: number, since: number): Promise<void> {
    try {
      await this.#state.documents.send(
        new UpdateCommand({
          TableName: this.#state.tableName,
          Key: this.#keyOf(key),
          UpdateExpression: 'ADD #hidden :count SET #hiddenSince = if_not_exists(#hiddenSince, :since)',
          ExpressionAttributeNames: HIDDEN_NAMES,
          ExpressionAttributeValues: { ':count': count, ':since': since },
        }),
      );
    } catch (error) {
      reportStateStoreFailure(new StateStoreError('silence-release', { cause: error }), { dedupKey: key });
    }
  }
}
