import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MiddlewareObj } from '@middy/core';
import { CONTRACT_DEFAULTS, DELIVERY_METRICS, ENVIRONMENT_VARIABLES } from './config-contract.ts';
import type { QuotaUsage } from './quota-guard.ts';

/**
 * What became of alerts, as CloudWatch metrics in the `GmailAlerts` namespace (Powertools Metrics,
 * written to the log as EMF; no API call on the delivery path). Flushed once per invocation by
 * {@link publishDeliveryMetrics}.
 */
export const metrics = new Metrics({
  namespace: DELIVERY_METRICS.namespace,
  serviceName: process.env[ENVIRONMENT_VARIABLES.serviceName] ?? CONTRACT_DEFAULTS.serviceName,
});

type CountedOutcome = 'sent' | 'folded' | 'held' | 'repeatsSuppressed' | 'silenced';

/** Counts one outcome of the delivery policy (`sent` counts recipients, the others alerts). */
export function countOutcome(outcome: CountedOutcome, count = 1): void {
  if (count > 0) metrics.addMetric(DELIVERY_METRICS[outcome], MetricUnit.Count, count);
}

/** The quota guard's reading as a share of the limit, which the `QuotaGuard80` alarm watches. */
export function recordGuardUsage(usage: QuotaUsage): void {
  if (usage.limit <= 0) return;
  metrics.addMetric(DELIVERY_METRICS.guardUsedPercent, MetricUnit.Percent, (usage.used / usage.limit) * 100);
}

/**
 * Middy middleware that writes the invocation's metrics after the handler, also when it throws.
 * Unlike Powertools' `logMetrics`, an invocation that decided nothing (a silence page, a refused
 * request) writes nothing, instead of a warning that there was nothing to write.
 */
export function publishDeliveryMetrics(): MiddlewareObj {
  const publish = async (): Promise<void> => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: publish, onError: publish };
}
