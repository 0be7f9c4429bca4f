import type { Alert } from './alert.ts';
import type { AlertOrigin } from './queues.ts';
import type { QuotaUsage } from './quota-guard.ts';
import { type Admission, MAIL_UNCOUNTED } from './repeat-window.ts';
import type { AlertRuntime } from './runtime.ts';
import { NOT_SILENCED, type SilenceVerdict } from './silences.ts';
import { reportStateStoreFailure, StateStoreError } from './state-store.ts';

/** What the state table says about an alert before anything is mailed. */
export interface StateVerdicts {
  silence: SilenceVerdict;
  repeat: Admission;
  /** The quota guard's count; undefined without the guard, or when the table failed (then it is mailed). */
  usage: QuotaUsage | undefined;
}

/** The state table's round for one alert, under way. */
export interface PendingVerdicts {
  readonly verdicts: Promise<StateVerdicts>;
  /** Undoes what the round claimed, for an alert that is not delivered after all (a repeated delivery). */
  cancel(): Promise<void>;
}

/**
 * Asks the state table about `alert` in one round of requests sent side by side: the key's silence
 * (a read), its repeat window (one conditional write that claims it for this mail), and the quota
 * counters (a read the alerts of a moment share). The caller starts it together with the
 * idempotency record, so a warm alert pays one DynamoDB round trip before its mail. Nothing in it is
 * counted yet: a silenced or repeated alert is counted once the round has shown it goes no further.
 *
 * Copies for one recipient are neither silenced nor counted as repeats: they finish a mail already
 * let through. `delivery` names the delivery (trigger and message id, event id or Idempotency-Key).
 */
export function startAdmission(
  runtime: AlertRuntime,
  origin: AlertOrigin,
  alert: Alert,
  delivery: string,
): PendingVerdicts {
  const state = runtime.state;
  const context = { trigger: origin.trigger, id: origin.id };
  const copy = origin.recipient !== undefined;
  const verdicts: Promise<StateVerdicts> =
    state === undefined
      ? Promise.resolve({ silence: NOT_SILENCED, repeat: MAIL_UNCOUNTED, usage: undefined })
      : Promise.all([
          copy ? NOT_SILENCED : state.silences.admit(alert, context),
          copy ? MAIL_UNCOUNTED : state.repeats.admit(alert, delivery, context),
          runtime.config.queueUrl ? quotaUsage(runtime, origin) : undefined,
        ]).then(([silence, repeat, usage]) => ({ silence, repeat, usage }));
  return {
    verdicts,
    async cancel() {
      const settled = await verdicts;
      await Promise.all([
        settled.repeat.action === 'send' ? settled.repeat.release() : undefined,
        settled.silence.action === 'pass' ? settled.silence.release() : undefined,
      ]);
    },
  };
}

async function quotaUsage(runtime: AlertRuntime, origin: AlertOrigin): Promise<QuotaUsage | undefined> {
  try {
    return await runtime.state?.quota.usage();
  } catch (error) {
    reportStateStoreFailure(new StateStoreError('quota-check', { cause: error }), {
      trigger: origin.trigger,
      id: origin.id,
    });
    return undefined;
  }
}

/**
 * Runs a count the round deferred (a silenced alert, a repeat); undefined when the table failed, in
 * which case the alert is mailed: a duplicate is better than a silence.
 */
export async function countDeferred<T>(
  count: () => Promise<T>,
  operation: 'silence-check' | 'repeat-check',
  context: Record<string, unknown>,
): Promise<T | undefined> {
  try {
    return await count();
  } catch (error) {
    reportStateStoreFailure(new StateStoreError(operation, { cause: error }), context);
    return undefined;
  }
}
