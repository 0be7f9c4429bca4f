import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logger } from '../core/logger.ts';
import { type DiagnosisReport, diagnoseGmailSetup } from './diagnose.ts';

/** What `npm run doctor -- --deployed` sends: optionally a test alert, to allow-listed recipients only. */
export interface DoctorEvent {
  testMessage?: boolean;
  /** Recipients of the test alert; default ALERT_TO. Each must be on ALERT_ALLOWED_RECIPIENTS. */
  to?: string[];
}

// Each network step is bounded; eight of them must fit in the function's 30 s with room to answer.
const STEP_TIMEOUT_CAP_MS = 5_000;

/**
 * Egress self-check run where the alerts really leave (inside the VPC in VPC mode): the same
 * diagnosis as `npm run doctor`, with the functions' own configuration and secret.
 */
export const handler = middy<DoctorEvent | null | undefined, DiagnosisReport>()
  .use(injectLambdaContext(logger))
  .handler(async (event, context: Context) => {
    const timeoutMs = Math.max(
      1_000,
      Math.min(STEP_TIMEOUT_CAP_MS, Math.floor((context.getRemainingTimeInMillis() - 2_000) / 6)),
    );
    const report = await diagnoseGmailSetup({
      env: process.env,
      timeoutMs,
      ...(event?.testMessage
        ? { testMessage: { to: Array.isArray(event.to) ? event.to.map(String) : [], trustRecipients: false } }
        : {}),
    });
    const failed = report.steps.find((step) => step.status === 'fail');
    if (failed) logger.warn('Diagnosis failed', { step: failed.id, cause: failed.cause, fix: failed.fix });
    else logger.info('Diagnosis passed', { durationMs: report.durationMs });
    for (const step of report.steps.filter((step) => step.status === 'warn')) {
      logger.warn('Diagnosis warning', { step: step.id, detail: step.detail, fix: step.fix });
    }
    return report;
  });
