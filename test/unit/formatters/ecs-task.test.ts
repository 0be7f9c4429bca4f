import { describe, expect, it } from 'vitest';
import {
  ecsTaskStateChange,
  type TaskStop,
  taskSeverity,
} from '../../../functions/core/formatters/ecs-task.ts';
import { factsOf, format, loadEvent, withDetail } from './fixtures.ts';

const TASK = 'arn:aws:ecs:eu-west-1:123456789012:task/prod/4f1c2b3a9d8e4c7f8a6b5c4d3e2f1a0b';

describe('ecsTaskStateChange', () => {
  it('names the service and cluster, keyed by the task ARN, high when an essential container exits 1', () => {
    const formatted = format(ecsTaskStateChange, loadEvent('eventbridge-ecs-task-stopped'));

    expect(formatted.subject).toBe('Task service:checkout in cluster prod');
    expect(formatted.severity).toBe('high');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe(TASK);
    expect(formatted.summary).toEqual([
      'STOPPED: Essential container in task exited',
      'Container checkout: exit 1',
    ]);
    expect(factsOf(formatted)).toMatchObject({
      Cluster: 'prod',
      Group: 'service:checkout',
      'Task definition': 'checkout:42',
      'Stop code': 'EssentialContainerExited',
      'Stopped reason': 'Essential container in task exited',
      'Container checkout': 'exit 1',
      'Container log-router': 'exit 0',
      'Launch type': 'FARGATE',
      'Availability zone': 'eu-west-1b',
    });
    expect(formatted.links).toEqual([
      {
        title: 'Open the task',
        url: 'https://eu-west-1.console.aws.amazon.com/ecs/v2/clusters/prod/tasks/4f1c2b3a9d8e4c7f8a6b5c4d3e2f1a0b/configuration?region=eu-west-1',
      },
    ]);
  });

  it('keeps the subject when the task runs, so all its changes are one thread, and is info', () => {
    const running = withDetail(loadEvent('eventbridge-ecs-task-stopped'), {
      lastStatus: 'RUNNING',
      stopCode: undefined,
      stoppedReason: undefined,
      containers: [{ name: 'checkout', lastStatus: 'RUNNING' }],
    });

    const formatted = format(ecsTaskStateChange, running);

    expect(formatted).toMatchObject({
      subject: 'Task service:checkout in cluster prod',
      severity: 'info',
      key: TASK,
      summary: ['RUNNING'],
    });
  });

  it('is info for a task a deployment stopped cleanly', () => {
    const scaled = withDetail(loadEvent('eventbridge-ecs-task-stopped'), {
      stopCode: 'ServiceSchedulerInitiated',
      stoppedReason: 'Scaling activity initiated by (deployment ecs-svc/3846712093847561029)',
      containers: [
        { name: 'checkout', exitCode: 143 },
        { name: 'log-router', exitCode: 0 },
      ],
    });

    const formatted = format(ecsTaskStateChange, scaled);

    expect(formatted.severity).toBe('info');
    expect(formatted.summary).toEqual([
      'STOPPED: Scaling activity initiated by (deployment ecs-svc/3846712093847561029)',
    ]);
  });

  it('names the container that could not start', () => {
    const failed = withDetail(loadEvent('eventbridge-ecs-task-stopped'), {
      stopCode: 'TaskFailedToStart',
      stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)',
      containers: [{ name: 'checkout', reason: 'CannotPullContainerError: not found' }],
    });

    const formatted = format(ecsTaskStateChange, failed);

    expect(formatted.severity).toBe('high');
    expect(formatted.summary[1]).toBe(
      'Container checkout: no exit code: CannotPullContainerError: not found',
    );
  });

  it('uses the task definition when the task has no group, and the task id when it has neither', () => {
    const event = loadEvent('eventbridge-ecs-task-stopped');

    expect(format(ecsTaskStateChange, withDetail(event, { group: undefined })).subject).toBe(
      'Task checkout:42 in cluster prod',
    );
    expect(
      format(ecsTaskStateChange, withDetail(event, { group: undefined, taskDefinitionArn: undefined }))
        .subject,
    ).toBe('Task 4f1c2b3a9d8e4c7f8a6b5c4d3e2f1a0b in cluster prod');
  });

  it.each([
    ['no task ARN', { taskArn: undefined }],
    ['no status', { lastStatus: undefined }],
    ['a cluster that is not an ARN', { clusterArn: 'prod' }],
  ])('leaves an event with %s to the generic rendering', (_case, patch) => {
    expect(
      ecsTaskStateChange.format(withDetail(loadEvent('eventbridge-ecs-task-stopped'), patch)),
    ).toBeUndefined();
  });
});

describe('taskSeverity', () => {
  const stop = (change: Partial<TaskStop>): TaskStop => ({
    lastStatus: 'STOPPED',
    stopCode: 'EssentialContainerExited',
    stoppedReason: 'Essential container in task exited',
    containers: [{ name: 'app', exitCode: 0, reason: undefined }],
    ...change,
  });

  it.each<[string, Partial<TaskStop>, string]>([
    [
      'a running task',
      { lastStatus: 'RUNNING', containers: [{ name: 'app', exitCode: 1, reason: undefined }] },
      'info',
    ],
    ['an essential container exiting 0', {}, 'info'],
    [
      'an essential container exiting 1',
      { containers: [{ name: 'app', exitCode: 1, reason: undefined }] },
      'high',
    ],
    [
      'an essential container killed for memory',
      {
        containers: [
          { name: 'app', exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' },
        ],
      },
      'high',
    ],
    ['a task that failed to start', { stopCode: 'TaskFailedToStart', containers: [] }, 'high'],
    [
      'a sidecar exiting 1 while the task was stopped by a user',
      { stopCode: 'UserInitiated', containers: [{ name: 'sidecar', exitCode: 1, reason: undefined }] },
      'warning',
    ],
    [
      'SIGTERM at a deliberate stop',
      { stopCode: 'UserInitiated', containers: [{ name: 'app', exitCode: 143, reason: undefined }] },
      'info',
    ],
    [
      'SIGKILL at a deployment',
      {
        stopCode: 'ServiceSchedulerInitiated',
        containers: [{ name: 'app', exitCode: 137, reason: undefined }],
      },
      'info',
    ],
    [
      'failed load balancer health checks',
      {
        stopCode: 'ServiceSchedulerInitiated',
        stoppedReason: 'Task failed ELB health checks in (target-group x)',
      },
      'warning',
    ],
    [
      'a Spot interruption',
      { stopCode: 'SpotInterruption', stoppedReason: 'Your Spot Task was interrupted.' },
      'warning',
    ],
  ])('rates %s as %s', (_case, change, severity) => {
    expect(taskSeverity(stop(change))).toBe(severity);
  });
});
