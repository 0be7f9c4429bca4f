import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Alert, Severity } from './alert.ts';
import { STATE_TABLE_SCHEMA } from './config-contract.ts';
import { reportStateStoreFailure, type StateClients, StateStoreError } from './state-store.ts';

/** The firing alerts of one key that were counted instead of mailed, told in the key's next mail. */
export interface RepeatSummary {
  count: number;
  /** When the first of them arrived (ISO 8601, UTC). */
  since: string;
}

/** A firing alert counted against its key's last mail. */
export interface CountedRepeat {
  repeats: RepeatSummary;
  /** When the key was last mailed (ISO 8601, UTC). */
  lastMailAt: string;
}

/** Whether an alert goes out now, or falls inside its key's window. */
export type Admission =
  | {
      action: 'send';
      /** What this mail stands for besides itself. */
      repeats: RepeatSummary | undefined;
      /** Gives the key's window back when the mail did not go out, so a later attempt is mailed. */
      release(): Promise<void>;
    }
  | {
      action: 'repeat';
      /** Counts the alert as a repeat, told in the key's next mail. */
      count(): Promise<CountedRepeat>;
    };

/** One key's item (`repeat#<dedupKey>`), as stored. */
interface RepeatItem {
  lastSentAt?: number;
  severity?: Severity;
  repeats?: number;
  since?: number;
  claim?: string;
  /** The delivery (message id, event id or Idempotency-Key) that holds the window. */
  claimBy?: string;
}

// A key's pending count outlives its window by a week, then the table forgets it (TTL).
const KEEP_AFTER_WINDOW_SECONDS = 7 * 24 * 60 * 60;

const iso = (epochMs: number) => new Date(epochMs).toISOString();

const summaryOf = (item: RepeatItem | undefined): RepeatSummary | undefined =>
  item?.repeats && item.repeats > 0
    ? { count: item.repeats, since: iso(item.since ?? Date.now()) }
    : undefined;

/** The admission of an alert mailed with no repeat window to keep (no key, no table, a copy). */
export const MAIL_UNCOUNTED: Admission = { action: 'send', repeats: undefined, release: async () => {} };

/**
 * Alertmanager's repeat interval, kept per dedupKey in the state table. A firing alert whose key was
 * mailed less than `repeatSeconds` ago, at the same severity, is counted and not mailed; the key's
 * next mail says how many it stands for and since when. A resolved alert always goes out and ends
 * the window. A change of severity goes out at once. If the table fails, the alert goes out.
 */
export class RepeatWindow {
  readonly #state: StateClients;
  readonly #repeatSeconds: number;
  readonly #now: () => number;

  constructor(state: StateClients, repeatSeconds: number, now: () => number = Date.now) {
    this.#state = state;
    this.#repeatSeconds = repeatSeconds;
    this.#now = now;
  }

  /**
   * Decides whether `alert` is mailed now, in one conditional write; alerts without a dedupKey always
   * are. `delivery` names the delivery (message id, event id or Idempotency-Key): a second attempt of
   * the same delivery may take the window it holds, so two copies of one SQS message racing each
   * other cannot leave the key counted with no mail sent.
   */
  async admit(alert: Alert, delivery: string, context: Record<string, unknown> = {}): Promise<Admission> {
    if (!alert.dedupKey || this.#repeatSeconds === 0) return MAIL_UNCOUNTED;
    const key = `${STATE_TABLE_SCHEMA.prefixes.repeat}${alert.dedupKey}`;
    try {
      return alert.status === 'resolved'
        ? await this.#closeWindow(key, delivery)
        : await this.#claimOrRepeat(key, alert.severity, delivery);
    } catch (error) {
      reportStateStoreFailure(new StateStoreError('repeat-check', { cause: error }), {
        ...context,
        dedupKey: alert.dedupKey,
      });
      return MAIL_UNCOUNTED;
    }
  }

  #expiresAt(now: number): number {
    return Math.ceil(now / 1000) + this.#repeatSeconds + KEEP_AFTER_WINDOW_SECONDS;
  }

  async #claimOrRepeat(key: string, severity: Severity, delivery: string): Promise<Admission> {
    const now = this.#now();
    const claim = randomUUID();
    try {
      const { Attributes } = await this.#state.documents.send(
        new UpdateCommand({
          TableName: this.#state.tableName,
          Key: { [STATE_TABLE_SCHEMA.partitionKey]: key },
          UpdateExpression:
            'SET lastSentAt = :now, severity = :severity, claim = :claim, claimBy = :by, #ttl = :expiresAt REMOVE repeats, since',
          ConditionExpression:
            'attribute_not_exists(lastSentAt) OR lastSentAt <= :windowStart OR severity <> :severity OR claimBy = :by',
          ExpressionAttributeNames: { '#ttl': STATE_TABLE_SCHEMA.ttlAttribute },
          ExpressionAttributeValues: {
            ':now': now,
            ':severity': severity,
            ':claim': claim,
            ':by': delivery,
            ':expiresAt': this.#expiresAt(now),
            ':windowStart': now - this.#repeatSeconds * 1000,
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return this.#sent(key, claim, Attributes as RepeatItem | undefined);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    // Mailed within the window at this severity: a repeat, counted once the caller knows it goes no further.
    return { action: 'repeat', count: () => this.#countRepeat(key) };
  }

  async #countRepeat(key: string): Promise<CountedRepeat> {
    const now = this.#now();
    const { Attributes } = await this.#state.documents.send(
      new UpdateCommand({
        TableName: this.#state.tableName,
        Key: { [STATE_TABLE_SCHEMA.partitionKey]: key },
        UpdateExpression: 'ADD repeats :one SET since = if_not_exists(since, :now), #ttl = :expiresAt',
        ExpressionAttributeNames: { '#ttl': STATE_TABLE_SCHEMA.ttlAttribute },
        ExpressionAttributeValues: { ':one': 1, ':now': now, ':expiresAt': this.#expiresAt(now) },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const item = (Attributes ?? {}) as RepeatItem;
    return {
      repeats: { count: item.repeats ?? 1, since: iso(item.since ?? now) },
      lastMailAt: iso(item.lastSentAt ?? now),
    };
  }

  async #closeWindow(key: string, delivery: string): Promise<Admission> {
    const now = this.#now();
    const claim = randomUUID();
    const { Attributes } = await this.#state.documents.send(
      new UpdateCommand({
        TableName: this.#state.tableName,
        Key: { [STATE_TABLE_SCHEMA.partitionKey]: key },
        UpdateExpression:
          'SET claim = :claim, claimBy = :by, #ttl = :expiresAt REMOVE lastSentAt, severity, repeats, since',
        ExpressionAttributeNames: { '#ttl': STATE_TABLE_SCHEMA.ttlAttribute },
        ExpressionAttributeValues: { ':claim': claim, ':by': delivery, ':expiresAt': this.#expiresAt(now) },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return this.#sent(key, claim, Attributes as RepeatItem | undefined);
  }

  #sent(key: string, claim: string, previous: RepeatItem | undefined): Admission {
    return {
      action: 'send',
      repeats: summaryOf(previous),
      release: () => this.#release(key, claim, previous),
    };
  }

  /**
   * Puts the key back as it was before `claim`, keeping repeats counted meanwhile. Skipped when
   * another alert has claimed the key since (its mail is the one that counts now).
   */
  async #release(key: string, claim: string, previous: RepeatItem | undefined): Promise<void> {
    const set: string[] = [];
    const remove: string[] = [];
    const values: Record<string, unknown> = { ':claim': claim };
    // A claim this one replaced (the same delivery, twice at once) holds the key again, so its own
    // release still works.
    if (previous?.claim !== undefined && previous.claimBy !== undefined) {
      set.push('claim = :previousClaim', 'claimBy = :previousBy');
      values[':previousClaim'] = previous.claim;
      values[':previousBy'] = previous.claimBy;
    } else {
      remove.push('claim', 'claimBy');
    }
    if (previous?.lastSentAt !== undefined && previous.severity !== undefined) {
      set.push('lastSentAt = :lastSentAt', 'severity = :severity');
      values[':lastSentAt'] = previous.lastSentAt;
      values[':severity'] = previous.severity;
    } else {
      remove.push('lastSentAt', 'severity');
    }
    // The earlier first repeat is the right "since" for the count put back.
    if (previous?.since !== undefined) {
      set.push('since = :since');
      values[':since'] = previous.since;
    }
    const add = previous?.repeats ? 'ADD repeats :repeats' : '';
    if (previous?.repeats) values[':repeats'] = previous.repeats;
    try {
      await this.#state.documents.send(
        new UpdateCommand({
          TableName: this.#state.tableName,
          Key: { [STATE_TABLE_SCHEMA.partitionKey]: key },
          UpdateExpression: [
            set.length > 0 ? `SET ${set.join(', ')}` : '',
            remove.length > 0 ? `REMOVE ${remove.join(', ')}` : '',
            add,
          ]
            .filter(Boolean)
            .join(' '),
          ConditionExpression: 'claim = :claim',
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      reportStateStoreFailure(new StateStoreError('repeat-release', { cause: error }), { stateKey: key });
    }
  }
}
