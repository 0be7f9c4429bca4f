import type { Alert } from './alert.ts';
import type { AlertConfig } from './config.ts';
import { digestAlert, holdingNoticeAlert } from './digest.ts';
import { AlertError, type DeliveryError, QuotaGuardHoldError } from './errors.ts';
import type { DeliveryReceipt } from './gmail-sender.ts';
import { describeFailure, logger } from './logger.ts';
import { countOutcome, recordGuardUsage } from './metrics.ts';
import { type AlertOrigin, enqueueAlert, enqueueDigestSending, sendToDeadLetterQueue } from './queues.ts';
import { DIGEST_INTERVAL_SECONDS, type QuotaGuard, type QuotaUsage } from './quota-guard.ts';
import type { Admission } from './repeat-window.ts';
import type { AlertRuntime } from './runtime.ts';
import { silenceLinkOf } from './signing-keys.ts';
import type { SilenceVerdict } from './silences.ts';
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
 * With the state table, before anything is sent: a firing alert repeated within its key's window is
 * `counted` (repeat-window.ts), and the quota guard may fold it into a digest (`folded`) or hold it
 * on the queue as Gmail's own quota refusal is (quota-guard.ts).
 */
export async function deliverOrPark(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  body: () => string,
  toAlert: () => Alert,
  deadlineMs: number,
): Promise<DeliveryOutcome> {
  const { config, sender } = runtime;
  let alert: Alert;
  let admission: Admission | undefined;
  let silence: SilenceVerdict | undefined;
  let receipt: DeliveryReceipt;
  try {
    alert = toAlert();
    silence = await silenced(runtime, origin, alert);
    if (silence.action === 'hide') {
      logger.info("Alert counted under its key's silence; not mailed", {
        ...origin,
        dedupKey: alert.dedupKey,
        hidden: silence.hidden,
        until: silence.until,
      });
      countOutcome('silenced');
      return { status: 'silenced', hidden: silence.hidden, until: silence.until };
    }
    admission = await admit(runtime, origin, alert);
    if (admission.action === 'count') {
      logger.info('Alert counted as a repeat of its key; not mailed', {
        ...origin,
        dedupKey: alert.dedupKey,
        repeats: admission.repeats.count,
        lastMailAt: admission.lastMailAt,
      });
      countOutcome('repeatsSuppressed');
      return {
        status: 'counted',
        repeats: admission.repeats.count,
        since: admission.repeats.since,
        lastMailAt: admission.lastMailAt,
      };
    }
    // Throws QuotaGuardHoldError (class quota) when the guard holds: held like Gmail's own 550 5.4.5.
    const guarded = await guardQuota(runtime, origin, alert, deadlineMs);
    if (guarded.action === 'folded') {
      logger.info('Alert folded into the digest of its recipients (quota guard)', {
        ...origin,
        dedupKey: alert.dedupKey,
      });
      countOutcome('folded');
      return { status: 'folded' };
    }
    const { repeats } = admission;
    const hidden = silence.hidden;
    const silenceUrl = await silenceLink(runtime, origin, alert);
    receipt = await sender.send(
      {
        ...alert,
        ...(repeats ? { repeats } : {}),
        ...(hidden ? { hidden } : {}),
        ...(silenceUrl ? { silenceUrl } : {}),
        ...(guarded.usage ? { quota: guarded.usage } : {}),
      },
      { deadlineMs },
    );
  } catch (error) {
    // Not mailed: the key's window is given back, so the retry, the hold or the redrive is mailed.
    if (admission?.action === 'send') await admission.release();
    if (silence?.action === 'pass') await silence.release();
    if (!(error instanceof AlertError)) {
      logger.error('Alert not delivered: unexpected error; left for retry', {
        ...origin,
        ...describeFailure(error),
      });
      throw error;
    }
    return settleAlert(config, origin, body, error);
  }
  await recordSent(runtime, receipt.accepted.length);
  let recipients: RecipientOutcome[];
  try {
    recipients = await settleRecipients(config, origin, alert, receipt);
  } catch (error) {
    // The trigger sends the whole alert again: that attempt must be mailed, not counted.
    await admission.release();
    await silence.release();
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

/**
 * The repeat interval's say on an alert. Copies for one recipient are never counted: the alert they
 * copy was mailed (or counted) already, and each recipient must still get it.
 */
function admit(runtime: AlertRuntime, origin: AlertOrigin, alert: Alert): Promise<Admission> | Admission {
  if (!runtime.state || origin.recipient !== undefined) return MAIL_WITHOUT_STATE;
  return runtime.state.repeats.admit(alert, { trigger: origin.trigger, id: origin.id });
}

/**
 * The key's silence's say on an alert. Copies for one recipient finish a mail already let through,
 * so they are never held back.
 */
function silenced(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  alert: Alert,
): Promise<SilenceVerdict> | SilenceVerdict {
  if (!runtime.state || origin.recipient !== undefined) return PASS_WITHOUT_STATE;
  return runtime.state.silences.admit(alert, { trigger: origin.trigger, id: origin.id });
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
  deadlineMs: number,
): Promise<GuardedAlert> {
  const guard = runtime.state?.quota;
  const queueUrl = runtime.config.queueUrl;
  if (!guard || !queueUrl) return { action: 'send' };
  let usage: QuotaUsage;
  try {
    usage = await guard.usage();
  } catch (error) {
    reportStateStoreFailure(new StateStoreError('quota-check', { cause: error }), { ...origin });
    return { action: 'send' };
  }
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

/**
 * Counts what Gmail accepted, as the `Sent` metric and against the rolling 24 h; a table that fails
 * only loses the guard's count.
 */
async function recordSent(runtime: AlertRuntime, recipients: number): Promise<void> {
  countOutcome('sent', recipients);
  if (!runtime.state || !runtime.config.queueUrl) return;
  try {
    await runtime.state.quota.record(recipients);
  } catch (error) {
    reportStateStoreFailure(new StateStoreError('quota-count', { cause: error }));
  }
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

const PASS_WITHOUT_STATE: SilenceVerdict = { action: 'pass', hidden: undefined, release: async () => {} };

const MAIL_WITHOUT_STATE: Admission = { action: 'send', repeats: undefined, release: async () => {} };

function replyOf(failure: DeliveryError): Record<string, unknown> {
  return { failureClass: failure.failureClass, responseCode: failure.responseCode, reply: failure.message };
}
