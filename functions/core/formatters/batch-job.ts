import type { AlertStatus, Severity } from '../alert.ts';
import { consoleLink, links } from './console-links.ts';
import { arnResource, arrayAt, numberAt, stringAt } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

const SHOWN_ATTEMPTS = 5;

/** Our severity and status for a Batch job status: FAILED is high, SUCCEEDED resolves, the rest is info. */
export function batchSeverity(status: string): { severity: Severity; status: AlertStatus } {
  if (status === 'FAILED') return { severity: 'high', status: 'firing' };
  return { severity: 'info', status: status === 'SUCCEEDED' ? 'resolved' : 'firing' };
}

/** One attempt as `exit 1: <reason>` (its container's exit code and reason, else the attempt's reason). */
function attemptText(attempt: unknown): string | undefined {
  const exitCode = numberAt(attempt, 'container', 'exitCode');
  const reason = stringAt(attempt, 'container', 'reason') ?? stringAt(attempt, 'statusReason');
  if (exitCode === undefined) return reason;
  return reason ? `exit ${exitCode}: ${reason}` : `exit ${exitCode}`;
}

/** AWS Batch job state changes. Every change of one job threads under its id. */
export const batchJobStateChange: EventFormatter = {
  name: 'batch-job-state-change',
  matches: (event) => event.source === 'aws.batch' && event['detail-type'] === 'Batch Job State Change',
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const jobId = stringAt(detail, 'jobId');
    const jobName = stringAt(detail, 'jobName');
    const status = stringAt(detail, 'status');
    if (!jobId || !jobName || !status) return undefined;
    const reason = stringAt(detail, 'statusReason');
    const attempts = arrayAt(detail, 'attempts')
      .slice(0, SHOWN_ATTEMPTS)
      .map((attempt, index): [string, string | undefined] => [`Attempt ${index + 1}`, attemptText(attempt)]);
    return {
      subject: `Batch job ${jobName}`,
      ...batchSeverity(status),
      summary: [`${status}${reason ? `: ${reason}` : ''}`],
      facts: [
        ['Status', status],
        ['Status reason', reason],
        ['Queue', arnResource(stringAt(detail, 'jobQueue'), 'job-queue') ?? stringAt(detail, 'jobQueue')],
        [
          'Definition',
          arnResource(stringAt(detail, 'jobDefinition'), 'job-definition') ??
            stringAt(detail, 'jobDefinition'),
        ],
        ...attempts,
        ['Job', jobId],
        ['Account', event.account],
        ['Region', event.region],
      ],
      links: links(
        consoleLink('Open the job', event.region, 'batch', `jobs/detail/${encodeURIComponent(jobId)}`),
      ),
      key: jobId,
    };
  },
};
