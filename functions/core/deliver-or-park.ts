import type { Context } from 'aws-lambda';
import { countDeferred, type PendingVerdicts, startAdmission } from './admission.ts';
import type { Alert } from './alert.ts';
import type { AlertConfig } from './config.ts';
import { digestAlert, holdingNoticeAlert } from './digest.ts';
import { AlertError, type DeliveryError, QuotaGuardHoldError } from './errors.ts';
import type { ConnectionAhead, DeliveryReceipt } from './gmail-sender.ts';
import { describeFailure, logger } from './logger.ts';
import { countOutcome, recordGuardUsage } from './metrics.ts';
import { type AlertOrigin, enqueueAlert, enqueueDigestSending, sendToDeadLetterQueue } from './queues.ts';
import { DIGEST_INTERVAL_SECONDS, type QuotaGuard, type QuotaUsage } from './quota-guard.ts';
import { type AlertRuntime, deliverOnce } from './runtime.ts';
import { silenceLinkOf } from './signing-keys.ts';
import { reportStateStoreFailure, StateStoreError } from './state-store.ts';

/** What became of one recipient of an alert that reached at least one of them (or could be split). */
export type RecipientOutcome =
  | { address: string; status: 'accepted' }
  /** A copy addressed only to them waits on the alerts queue. */
  | { address: string; status: 'queued'; failure: DeliveryError }
  /** An entry addressed only to them waits in the dead-letter queue with its reason. */
  | { address: string; status: 'parked'; failure: DeliveryError }
  /** HTTP only: refused for good, and the caller is told so in the answer. */
  | { address: string; status: 'refused'; failure: DeliveryError };

export type DeliveryOutcome =
  /** Settled per recipient: every address is accepted, queued, parked or refused. */
  | { status: 'delivered'; messageId: string; recipients: RecipientOutcome[] }
  /** A firing alert of a key mailed within ALERT_REPEAT_SECONDS: counted, told in the key's next mail. */
  | { status: 'counted'; repeats: number; since: string; lastMailAt: string }
  /** A firing alert of a silenced key: counted, told in the key's first mail after the silence. */
  | { status: 'silenced'; hidden: number; until: string }
  /** Near GMAIL_DAILY_LIMIT: in the pending digest of its recipients, sent within minutes. */
  | { status: 'folded' }
  /** HTTP only: the whole alert waits on the alerts queue for a later attempt. */
  | { status: 'queued'; failure: AlertError }
  | { status: 'held'; failure: AlertError }
  | { status: 'parked'; failure: AlertError };

/** How long a quota-blocked alert waits between attempts (SQS's longest delay). */
export const QUOTA_HOLD_DELAY_SECONDS = 900;
/** Gmail blocks an account for up to 24 h; past that, holding longer would hide a different problem. */
export const QUOTA_HOLD_LIMIT_MS = 25 * 60 * 60 * 1000;
/** First delay of a copy for one recipient Gmail deferred (450 4.2.1 …); doubled on each attempt. */
export const RECIPIENT_RETRY_DELAY_SECONDS = 60;
/** Attempts for one deferred recipient when the queue's own receive limit is not configured. */
const DEFAULT_RECIPIENT_ATTEMPTS = 5;

/** What to do with an alert, or with one recipient of it, that Gmail did not take. */
type Decision =
  | { action: 'retry' }
  | { action: 'queue'; delaySeconds: number; heldSince?: number; attempt?: number }
  | { action: 'park' }
  | { action: 'answer' };

/**
 * The one rule that nothing is lost, for every trigger, for a whole alert (`scope: 'alert'`) or for
 * one recipient of it (`scope: 'recipient'`).
 * - Gmail's daily quota (class `quota`): held on the alerts queue, 15 minutes at a time for up to 25 h.
 * - A failure a later attempt can fix (transient; config, which someone can fix): HTTP queues it; SQS
 *   and EventBridge leave it to their own retry, until the queue's last receive. A single recipient
 *   cannot use the trigger's retry (the others would get it twice), so a copy for them is queued.
 * - Anything else, and anything out of attempts: SQS and EventBridge park it in the dead-letter queue
 *   with its reason; HTTP answers the caller, who still has it.
 */
function decide(
  failure: AlertError,
  origin: AlertOrigin,
  config: AlertConfig,
  scope: 'alert' | 'recipient',
): Decision {
  const now = Date.now();
  const heldSince = origin.heldSince ?? now;
  const holdExpired = now - heldSince >= QUOTA_HOLD_LIMIT_MS;
  const http = origin.trigger === 'http';
  if (failure.failureClass === 'quota' && config.queueUrl && !holdExpired) {
    return { action: 'queue', delaySeconds: QUOTA_HOLD_DELAY_SECONDS, heldSince };
  }
  if (failure.failureClass === 'transient' && scope === 'recipient' && config.queueUrl) {
    const attempt = (origin.attempt ?? 1) + 1;
    const limit = config.maxReceives ?? DEFAULT_RECIPIENT_ATTEMPTS;
    if (attempt <= limit) {
      const delaySeconds = Math.min(
        QUOTA_HOLD_DELAY_SECONDS,
        RECIPIENT_RETRY_DELAY_SECONDS * 2 ** (attempt - 2),
      );
      return { action: 'queue', delaySeconds, attempt };
    }
  } else if (http) {
    if (failure.failureClass === 'transient' && config.queueUrl) return { action: 'queue', delaySeconds: 0 };
  } else if (scope === 'alert') {
    const lastReceive =
      config.maxReceives !== undefined &&
      origin.receiveCount !== undefined &&
      origin.receiveCount >= config.maxReceives;
    const worthRetrying = failure.retryable || failure.failureClass === 'config';
    if (worthRetrying && !lastReceive && !holdExpired) return { action: 'retry' };
  }
  if (http) return { action: 'answer' };
  // Without a dead-letter queue the trigger keeps the alert: a retry, never a loss.
  return config.deadLetterQueueUrl ? { action: 'park' } : { action: 'retry' };
}

/**
 * Delivers an alert and settles every recipient: delivered; held or queued on the alerts queue;
 * left to the trigger's retry (this throws); parked in the dead-letter queue with its class, reason
 * and advice; or, on HTTP, answered to the caller (this throws the classified failure). Recipients
 * that got the alert are never sent it again: whatever remains for the others goes on in copies
 * addressed only to them. If holding or parking is impossible, this throws too, so the trigger
 * keeps the alert.
 *
 * With the state table, before anything is sent (one round, admission.ts): a firing alert of a
 * silenced key is `silenced`; one repeated within its key's window is `counted` (repeat-window.ts);
 * the quota guard may fold it into a digest (`folded`) or hold it on the queue as Gmail's own quota
 * refusal is (quota-guard.ts). `prepared` gives the alert with that round, started by
 * {@link deliverOnceOrPark}, and the Gmail connection opened meanwhile; it throws what made the
 * input invalid.
 */
async function deliverOrPark(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  body: () => string,
  prepared: () => PreparedDelivery,
  deadlineMs: number,
): Promise<DeliveryOutcome> {
  const { config, sender } = runtime;
  let alert: Alert;
  // What to undo when the alert is not mailed after all, so a retry, a hold or a redrive is mailed.
  let releaseRepeat = NOTHING_TO_UNDO;
  let releaseSilence = NOTHING_TO_UNDO;
  let counting: SendCount | undefined;
  let receipt: DeliveryReceipt;
  try {
    const delivery = prepared();
    alert = delivery.alert;
    const round = await delivery.pending.verdicts;
    const { silence, repeat } = round;
    if (repeat.action === 'send') releaseRepeat = repeat.release;
    if (silence.action === 'pass') releaseSilence = silence.release;
    const context = { ...origin, dedupKey: alert.dedupKey };
    if (silence.action === 'hide') {
      const hidden = await countDeferred(silence.count, 'silence-check', context);
      if (hidden) {
        await releaseRepeat();
        logger.info("Alert counted under its key's silence; not mailed", { ...context, ...hidden });
        countOutcome('silenced');
        return { status: 'silenced', ...hidden };
      }
    }
    if (repeat.action === 'repeat') {
      const counted = await countDeferred(repeat.count, 'repeat-check', context);
      if (counted) {
        await releaseSilence();
        logger.info('Alert counted as a repeat of its key; not mailed', {
          ...context,
          repeats: counted.repeats.count,
          lastMailAt: counted.lastMailAt,
        });
        countOutcome('repeatsSuppressed');
        return {
          status: 'counted',
          repeats: counted.repeats.count,
          since: counted.repeats.since,
          lastMailAt: counted.lastMailAt,
        };
      }
    }
    // Throws QuotaGuardHoldError (class quota) when the guard holds: held like Gmail's own 550 5.4.5.
    const guarded = await guardQuota(runtime, origin, alert, round.usage, deadlineMs);
    if (guarded.action === 'folded') {
      // The digest lists the alert, not what a silence hid: that waits for the key's next mail.
      await releaseSilence();
      logger.info('Alert folded into the digest of its recipients (quota guard)', context);
      countOutcome('folded');
      return { status: 'folded' };
    }
    const repeats = repeat.action === 'send' ? repeat.repeats : undefined;
    const hidden = silence.action === 'pass' ? silence.hidden : undefined;
    const silenceUrl = await silenceLink(runtime, origin, alert);
    // Counted while it is sent: the count is right once Gmail answers, and costs no time of its own.
    // On a connection being opened, once it is ready: the count's request then shares the
    // envelope's round trip instead of landing between the handshake's steps.
    counting = startCounting(runtime, alert.to.length, delivery.ahead);
    receipt = await sender.send(
      {
        ...alert,
        ...(repeats ? { repeats } : {}),
        ...(hidden ? { hidden } : {}),
        ...(silenceUrl ? { silenceUrl } : {}),
        ...(guarded.usage ? { quota: guarded.usage } : {}),
      },
      { deadlineMs, ...(delivery.ahead ? { ahead: delivery.ahead } : {}) },
    );
  } catch (error) {
    await Promise.all([counting?.settle(0), releaseRepeat(), releaseSilence()]);
    if (!(error instanceof AlertError)) {
      logger.error('Alert not delivered: unexpected error; left for retry', {
        ...origin,
        ...describeFailure(error),
      });
      throw error;
    }
    return settleAlert(config, origin, body, error);
  }
  await counting.settle(receipt.accepted.length);
  let recipients: RecipientOutcome[];
  try {
    recipients = await settleRecipients(config, origin, alert, receipt);
  } catch (error) {
    // The trigger sends the whole alert again: that attempt must be mailed, not counted.
    await Promise.all([releaseRepeat(), releaseSilence()]);
    throw error;
  }
  logger.info('Alert delivered', {
    ...origin,
    messageId: receipt.messageId,
    accepted: receipt.accepted.length,
    ...(receipt.failed.length > 0
      ? {
          notAccepted: recipients
            .filter((recipient) => recipient.status !== 'accepted')
            .map((recipient) => ({
              address: recipient.address,
              outcome: recipient.status,
              ...('failure' in recipient ? replyOf(recipient.failure) : {}),
            })),
        }
      : {}),
  });
  return { status: 'delivered', messageId: receipt.messageId, recipients };
}

/** A valid alert with its state round under way and the Gmail connection opened for it, if any. */
interface PreparedDelivery {
  alert: Alert;
  pending: PendingVerdicts;
  ahead: ConnectionAhead | undefined;
}

/** How a trigger names one delivery, for idempotent delivery (idempotent-delivery.ts). */
export interface DeliveryRequest {
  /** Message id, event id or Idempotency-Key; undefined delivers without the guard. */
  key: string | undefined;
  context: Context;
  /** What a repeat of the key must carry again (an HTTP body); see {@link DeliverOnce}. */
  content?: string;
}

/**
 * {@link deliverOrPark} once per delivery key (a redelivered record, a retried event, a repeated
 * request sends nothing twice), answered by `answer`. The state table's round for the alert is
 * started beside the idempotency record's write, so both cost one round trip, and a container
 * without a Gmail connection starts opening one at the same time; when the delivery turns out to be
 * a repeat, what the round claimed is given back.
 */
export async function deliverOnceOrPark<T>(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  request: DeliveryRequest,
  body: () => string,
  toAlert: () => Alert,
  deadlineMs: number,
  answer: (outcome: DeliveryOutcome) => T,
): Promise<T> {
  let made: PreparedDelivery | { error: unknown };
  try {
    const alert = toAlert();
    // A cold container connects to Gmail while the idempotency record and the state round are written.
    const ahead = runtime.sender.connectAhead();
    await afterGreeting(runtime);
    const delivery = `${origin.trigger}#${request.key ?? origin.id}`;
    made = { alert, ahead, pending: startAdmission(runtime, origin, alert, delivery) };
  } catch (error) {
    // deliverOrPark meets the same error and settles it.
    made = { error };
  }
  const prepared = () => {
    if ('error' in made) throw made.error;
    return made;
  };
  const pending = 'pending' in made ? made.pending : undefined;
  let ran = false;
  try {
    return await deliverOnce(
      runtime,
      origin.trigger,
      request.key,
      request.context,
      async () => {
        ran = true;
        return answer(await deliverOrPark(runtime, origin, body, prepared, deadlineMs));
      },
      request.content,
    );
  } finally {
    if (!ran) await pending?.cancel();
  }
}

/**
 * How long the state round waits for the greeting of the connection being opened: longer than the
 * greeting takes on any path that delivers mail in time, short enough that an alert the round stops
 * (a repeat, a silence) is answered at once even when Gmail cannot be reached.
 */
export const GREETING_WAIT_MS = 100;

/**
 * On a container opening its Gmail connection, the state round (and the idempotency record) waits
 * for the server's greeting, for at most {@link GREETING_WAIT_MS}. Their first requests in a container
 * cost tens of milliseconds of CPU; run before the greeting, they hold the handshake's first replies
 * back, while the mail cannot go before its last one anyway. Run after it, they fill the round trip
 * of EHLO.
 */
async function afterGreeting(runtime: AlertRuntime): Promise<void> {
  const greeting = runtime.state ? runtime.sender.greeting() : undefined;
  if (!greeting) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    greeting,
    new Promise((resolve) => {
      timer = setTimeout(resolve, GREETING_WAIT_MS);
    }),
  ]);
  clearTimeout(timer);
}

async function settleAlert(
  config: AlertConfig,
  origin: AlertOrigin,
  body: () => string,
  failure: AlertError,
): Promise<DeliveryOutcome> {
  const decision = decide(failure, origin, config, 'alert');
  const described = { ...origin, ...describeFailure(failure) };
  switch (decision.action) {
    case 'retry':
      if (config.deadLetterQueueUrl) logger.warn('Alert not delivered; left for retry', described);
      else logger.error('Alert not delivered and ALERT_DLQ_URL is not set; left for retry', described);
      throw failure;
    case 'answer':
      throw failure;
    case 'queue': {
      const queueUrl = config.queueUrl as string;
      try {
        await enqueueAlert(queueUrl, body(), decision.delaySeconds, decision.heldSince);
      } catch (queueError) {
        if (origin.trigger !== 'http') throw queueError;
        // Neither Gmail nor the queue took it: the caller is told to try again.
        logger.error('Alert could not be queued either', described);
        throw failure;
      }
      if (failure.failureClass === 'quota') {
        logger.warn('Alert held on the queue while Gmail blocks sending', described);
        countOutcome('held');
        return { status: 'held', failure };
      }
      logger.warn('Alert queued for a later attempt', described);
      return { status: 'queued', failure };
    }
    case 'park':
      await sendToDeadLetterQueue(config.deadLetterQueueUrl as string, body(), failure, origin);
      logger.warn('Alert parked in the dead-letter queue', described);
      return { status: 'parked', failure };
  }
}

async function settleRecipients(
  config: AlertConfig,
  origin: AlertOrigin,
  alert: Alert,
  receipt: DeliveryReceipt,
): Promise<RecipientOutcome[]> {
  const outcomes: RecipientOutcome[] = receipt.accepted.map((address) => ({ address, status: 'accepted' }));
  for (const { address, failure } of receipt.failed) {
    const decision = decide(failure, origin, config, 'recipient');
    const copy = () => recipientCopy(alert, address);
    const copyOrigin = { ...origin, recipient: address };
    if (decision.action === 'queue') {
      await enqueueAlert(
        config.queueUrl as string,
        copy(),
        decision.delaySeconds,
        decision.heldSince,
        decision.attempt,
        address,
      );
      outcomes.push({ address, status: 'queued', failure });
    } else if (decision.action === 'park') {
      await sendToDeadLetterQueue(config.deadLetterQueueUrl as string, copy(), failure, copyOrigin);
      outcomes.push({ address, status: 'parked', failure });
    } else if (decision.action === 'answer') {
      outcomes.push({ address, status: 'refused', failure });
    } else {
      // No queue to settle this recipient alone: the trigger retries the whole alert. The recipients
      // that have it may get it twice, which is better than one who never does.
      logger.error('A recipient could not be settled alone; the whole alert is left for retry', {
        ...copyOrigin,
        ...describeFailure(failure),
      });
      throw failure;
    }
  }
  return outcomes;
}

/**
 * The alert as a queue body addressed to one recipient only, so a redrive cannot reach the others.
 * It is alert input again, so the event it was made from (never caller input) is left out.
 */
export function recipientCopy(alert: Alert, address: string): string {
  const { event: _event, ...input } = alert;
  return JSON.stringify({ ...input, to: [address] });
}

/** The signed "Silence…" link of a keyed alert; a link that cannot be signed is left out, never the mail. */
async function silenceLink(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  alert: Alert,
): Promise<string | undefined> {
  try {
    return await silenceLinkOf(alert, runtime.config);
  } catch (error) {
    logger.warn('Silence link could not be signed; the alert is mailed without it', {
      ...origin,
      ...describeFailure(error),
    });
    return undefined;
  }
}

/** Who is told that the guard holds: ALERT_TO, or the held alert's own recipients without it. */
const noticeRecipients = (config: AlertConfig, fallback: string[]) =>
  config.alertTo.length > 0 ? config.alertTo : fallback;

/** The quota guard's say on an alert, with the count it read (none when it did not read one). */
interface GuardedAlert {
  action: 'send' | 'folded';
  usage?: QuotaUsage;
}

/**
 * The quota guard's say on an alert about to be mailed: mail it, fold it into its recipients'
 * digest (from 80 % of GMAIL_DAILY_LIMIT), or hold it (throws {@link QuotaGuardHoldError}) once a
 * mail would leave no room for the one notice that the guard is holding, which goes out first. The
 * guard needs the state table and the alerts queue; if the table fails, the alert is mailed.
 */
async function guardQuota(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  alert: Alert,
  usage: QuotaUsage | undefined,
  deadlineMs: number,
): Promise<GuardedAlert> {
  const guard = runtime.state?.quota;
  const queueUrl = runtime.config.queueUrl;
  // No count (no guard, or the table failed and was reported): the alert is mailed.
  if (!guard || !queueUrl || !usage) return { action: 'send' };
  recordGuardUsage(usage);
  const send: GuardedAlert = { action: 'send', usage };
  const noticeTo = noticeRecipients(runtime.config, alert.to);
  const verdict = guard.verdict(usage, alert.to.length, noticeTo.length);
  // A copy for one recipient finishes a mail (or digest) already let through: only a hold stops it.
  if (verdict === 'send' || (verdict === 'fold' && origin.recipient !== undefined)) return send;
  if (verdict === 'fold') {
    try {
      const { digestKey, scheduleFlush } = await guard.fold(alert);
      if (scheduleFlush) {
        try {
          await enqueueDigestSending(queueUrl, digestKey, DIGEST_INTERVAL_SECONDS);
        } catch (error) {
          // No sending scheduled: the alert goes out on its own (a later digest may list it again).
          await guard.unschedule(digestKey).catch(() => undefined);
          logger.warn('Digest sending could not be scheduled; the alert is mailed alone', {
            ...origin,
            ...describeFailure(error),
          });
          return send;
        }
      }
      return { action: 'folded', usage };
    } catch (error) {
      reportStateStoreFailure(new StateStoreError('quota-fold', { cause: error }), { ...origin });
      return send;
    }
  }
  await sendHoldingNotice(runtime, origin, guard, noticeTo, usage, deadlineMs);
  throw new QuotaGuardHoldError(usage.used, usage.limit);
}

/** The last mail before the limit, once per hold: from now on alerts wait on the queue. */
async function sendHoldingNotice(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  guard: QuotaGuard,
  to: string[],
  usage: QuotaUsage,
  deadlineMs: number,
): Promise<void> {
  try {
    if (!(await guard.claimHoldingNotice())) return;
  } catch (error) {
    reportStateStoreFailure(new StateStoreError('quota-check', { cause: error }), { ...origin });
    return;
  }
  try {
    const receipt = await runtime.sender.send(holdingNoticeAlert(to, usage), { deadlineMs });
    await recordSent(runtime, receipt.accepted.length);
    logger.warn('Quota guard holds alerts; notice sent', { ...origin, ...usage });
  } catch (error) {
    logger.error('Quota guard holds alerts; its notice could not be sent', {
      ...origin,
      ...usage,
      ...describeFailure(error),
    });
  }
}

/** A mail's recipients, counted against the rolling 24 h while it is sent. */
interface SendCount {
  /** Once Gmail has answered: the `Sent` metric, and back to the guard what it did not take. */
  settle(accepted: number): Promise<void>;
}

/**
 * Starts counting a mail to `recipients` addresses against the rolling 24 h, once `after` has
 * settled (the connection opened for it is ready, or has failed); a mail settled before that is
 * counted as settled (a failed one not at all), never waiting for `after`. A table that fails only
 * loses the guard's count.
 */
function startCounting(
  runtime: AlertRuntime,
  recipients: number,
  after: Promise<unknown> = Promise.resolve(),
): SendCount {
  const guard = runtime.config.queueUrl ? runtime.state?.quota : undefined;
  const record = async (count: number) => {
    try {
      await guard?.record(count);
      return true;
    } catch (error) {
      reportStateStoreFailure(new StateStoreError('quota-count', { cause: error }));
      return false;
    }
  };
  // Settled before `after` (the mail failed before its connection came up, or went out on another
  // one at its deadline): what Gmail took is counted then, and nothing waits for `after`.
  let counting: 'waiting' | 'started' | 'settled' = 'waiting';
  const counted = after.then(() => {
    if (counting === 'settled') return false;
    counting = 'started';
    return record(recipients);
  });
  return {
    async settle(accepted) {
      if (accepted > 0) countOutcome('sent', accepted);
      if (counting === 'waiting') {
        counting = 'settled';
        if (accepted > 0) await record(accepted);
        return;
      }
      if ((await counted) && accepted !== recipients) await record(accepted - recipients);
    },
  };
}

/** Counts what Gmail accepted of a mail already sent. */
function recordSent(runtime: AlertRuntime, recipients: number): Promise<void> {
  return startCounting(runtime, recipients).settle(recipients);
}

/**
 * Sends a digest whose time has come (the sqs function, on the scheduled message): every alert
 * folded into it, as one message. Held like an alert when the guard holds; on a failure the entries
 * go back and this throws, so the queue retries the sending.
 */
export async function deliverDigest(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  digestKey: string,
  deadlineMs: number,
): Promise<'delivered' | 'held' | 'empty'> {
  const guard = runtime.state?.quota;
  const queueUrl = runtime.config.queueUrl;
  if (!guard || !queueUrl) {
    logger.warn('Digest sending without ALERT_STATE_TABLE or ALERT_QUEUE_URL; nothing to send', {
      ...origin,
    });
    return 'empty';
  }
  let usage: QuotaUsage | undefined;
  try {
    usage = await guard.usage();
    recordGuardUsage(usage);
  } catch (error) {
    reportStateStoreFailure(new StateStoreError('quota-check', { cause: error }), { ...origin });
  }
  const claimed = await guard.claimDigest(digestKey);
  if (!claimed) return 'empty';
  const known = usage ?? { used: 0, limit: runtime.config.gmailDailyLimit };
  const reserve = noticeRecipients(runtime.config, claimed.to).length;
  if (usage && guard.verdict(usage, claimed.to.length, reserve) === 'hold') {
    await claimed.restore();
    await enqueueDigestSending(queueUrl, digestKey, QUOTA_HOLD_DELAY_SECONDS);
    logger.warn('Digest held by the quota guard', { ...origin, alerts: claimed.entries.length, ...usage });
    return 'held';
  }
  const digest = digestAlert(claimed.entries, claimed.to, known);
  let receipt: DeliveryReceipt;
  try {
    // The count rides on the mail only: a recipient's queued copy is alert input again, which has none.
    receipt = await runtime.sender.send(usage ? { ...digest, quota: usage } : digest, { deadlineMs });
  } catch (error) {
    await claimed.restore();
    logger.warn('Digest not sent; its alerts wait for the retry', {
      ...origin,
      alerts: claimed.entries.length,
      ...describeFailure(error),
    });
    throw error;
  }
  await recordSent(runtime, receipt.accepted.length);
  // A recipient Gmail did not take gets the digest alone, queued or parked like any alert's recipient.
  const recipients = await settleRecipients(runtime.config, origin, digest, receipt);
  logger.info('Digest delivered', {
    ...origin,
    messageId: receipt.messageId,
    alerts: claimed.entries.length,
    accepted: receipt.accepted.length,
    ...(receipt.failed.length > 0
      ? {
          notAccepted: recipients
            .filter((recipient) => recipient.status !== 'accepted')
            .map((recipient) => ({ address: recipient.address, outcome: recipient.status })),
        }
      : {}),
  });
  return 'delivered';
}

const NOTHING_TO_UNDO = async () => {};

function replyOf(failure: DeliveryError): Record<string, unknown> {
  return { failureClass: failure.failureClass, responseCode: failure.responseCode, reply: failure.message };
}
