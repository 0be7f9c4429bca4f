import type { Context } from 'aws-lambda';
import { type AlertConfig, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { GmailSender } from './gmail-sender.ts';
import { type DeliverOnce, idempotentDelivery } from './idempotent-delivery.ts';
import { describeFailure, logger } from './logger.ts';
import type { AlertOrigin } from './queues.ts';
import { QuotaGuard } from './quota-guard.ts';
import { RepeatWindow } from './repeat-window.ts';
import { fetchSigningKey } from './signing-keys.ts';
import { SilenceStore } from './silences.ts';
import { createStateClients } from './state-store.ts';

/** What the functions keep in the state table (ALERT_STATE_TABLE). */
export interface AlertState {
  /** The repeat interval per dedupKey. */
  repeats: RepeatWindow;
  /** Silences per key, set from the link in a mail: firing alerts of a silenced key are counted. */
  silences: SilenceStore;
  /** Gmail's daily sending quota, counted: digests from 80 %, holds at 100 %. */
  quota: QuotaGuard;
  /** Delivery once per message id, event id or Idempotency-Key, for one trigger. */
  once(trigger: AlertOrigin['trigger']): DeliverOnce;
}

/** What a container keeps between invocations: the validated configuration, the warm sender, the state table. */
export interface AlertRuntime {
  config: AlertConfig;
  sender: GmailSender;
  /** Undefined without ALERT_STATE_TABLE: every alert is mailed, as a stateless deployment does. */
  state: AlertState | undefined;
}

function stateOf(config: AlertConfig): AlertState | undefined {
  if (!config.stateTable) return undefined;
  const clients = createStateClients(config.stateTable);
  const byTrigger = new Map<AlertOrigin['trigger'], DeliverOnce>();
  return {
    repeats: new RepeatWindow(clients, config.repeatSeconds),
    silences: new SilenceStore(clients),
    quota: new QuotaGuard(clients, config.gmailDailyLimit),
    once(trigger) {
      let once = byTrigger.get(trigger);
      if (!once) {
        once = idempotentDelivery(clients, trigger);
        byTrigger.set(trigger, once);
      }
      return once;
    },
  };
}

/**
 * Runs `deliver` once per `key` (see {@link DeliverOnce}) when the runtime keeps state; without a
 * state table, every time.
 */
export function deliverOnce<T>(
  runtime: AlertRuntime,
  trigger: AlertOrigin['trigger'],
  key: string | undefined,
  context: Context,
  deliver: () => Promise<T>,
  content?: string,
): Promise<T> {
  return runtime.state ? runtime.state.once(trigger)(key, context, deliver, content) : deliver();
}

/**
 * Validates the configuration once, at cold start, and starts fetching the Gmail secret (and, with
 * the quota guard, reading its counters). A broken
 * configuration is logged once here and reported by every invocation, instead of failing the init
 * phase with a message nobody sees.
 */
export function initRuntime(env: Record<string, string | undefined> = process.env): () => AlertRuntime {
  let runtime: AlertRuntime | undefined;
  let failure: ConfigError | undefined;
  try {
    const config = loadConfig(env);
    const sender = new GmailSender(config);
    sender.prefetchCredentials();
    const state = stateOf(config);
    // Beside the secret: the first alert finds the counters read and the table's connection open,
    // and the key that signs its silence link.
    if (config.queueUrl) state?.quota.prefetch();
    if (config.silenceBaseUrl && config.signingSecretId) {
      fetchSigningKey(config.signingSecretId, config.secretCacheSeconds).catch(() => {
        // Reported by the first link that cannot be signed.
      });
    }
    runtime = { config, sender, state };
  } catch (error) {
    failure =
      error instanceof ConfigError
        ? error
        : new ConfigError('environment', 'could not be read', undefined, { cause: error });
    logger.error('Configuration error', describeFailure(failure));
  }
  return () => {
    if (runtime) return runtime;
    throw failure;
  };
}
