import { describe, expect, it } from 'vitest';
import { batchJobStateChange, batchSeverity } from '../../../functions/core/formatters/batch-job.ts';
import { factsOf, format, loadEvent, withDetail } from './fixtures.ts';

const JOB = '8d3b1f0e-6c2a-4e9d-b7f5-1a4c3e2d0b9f';

describe('batchJobStateChange', () => {
  it('names the job, keyed by its id, high when it fails, with each attempt', () => {
    const formatted = format(batchJobStateChange, loadEvent('eventbridge-batch-failed'));

    expect(formatted.subject).toBe('Batch job nightly-ledger-export');
    expect(formatted.severity).toBe('high');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe(JOB);
    expect(formatted.summary[0]).toBe('FAILED: Essential container in task exited');
    expect(factsOf(formatted)).toMatchObject({
      Status: 'FAILED',
      'Status reason': 'Essential container in task exited',
      Queue: 'reports',
      Definition: 'ledger-export:7',
      'Attempt 1': 'exit 137: OutOfMemoryError: Container killed due to memory usage',
      'Attempt 2': 'exit 1: Essential container in task exited',
    });
    expect(formatted.links).toEqual([
      {
        title: 'Open the job',
        url: `https://us-east-1.console.aws.amazon.com/batch/home?region=us-east-1#jobs/detail/${JOB}`,
      },
    ]);
  });

  it('resolves the thread of a job that succeeded', () => {
    const succeeded = withDetail(loadEvent('eventbridge-batch-failed'), {
      status: 'SUCCEEDED',
      statusReason: undefined,
    });

    expect(format(batchJobStateChange, succeeded)).toMatchObject({
      subject: 'Batch job nightly-ledger-export',
      severity: 'info',
      status: 'resolved',
      key: JOB,
      summary: ['SUCCEEDED'],
    });
  });

  it('shows the first five attempts and reads a queue given by name', () => {
    const attempts = Array.from({ length: 9 }, (_, index) => ({ container: { exitCode: index } }));

    const facts = factsOf(
      format(
        batchJobStateChange,
        withDetail(loadEvent('eventbridge-batch-failed'), { attempts, jobQueue: 'reports' }),
      ),
    );

    expect(Object.keys(facts).filter((label) => label.startsWith('Attempt'))).toHaveLength(5);
    expect(facts['Attempt 5']).toBe('exit 4');
    expect(facts.Queue).toBe('reports');
  });

  it.each([
    ['no job id', { jobId: undefined }],
    ['no job name', { jobName: null }],
    ['no status', { status: '' }],
  ])('leaves an event with %s to the generic rendering', (_case, patch) => {
    expect(
      batchJobStateChange.format(withDetail(loadEvent('eventbridge-batch-failed'), patch)),
    ).toBeUndefined();
  });
});

describe('batchSeverity', () => {
  it.each([
    ['FAILED', 'high', 'firing'],
    ['SUCCEEDED', 'info', 'resolved'],
    ['SUBMITTED', 'info', 'firing'],
    ['RUNNABLE', 'info', 'firing'],
    ['RUNNING', 'info', 'firing'],
  ])('maps %s to %s, %s', (status, severity, alertStatus) => {
    expect(batchSeverity(status)).toEqual({ severity, status: alertStatus });
  });
});
