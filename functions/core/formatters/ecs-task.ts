import type { Severity } from '../alert.ts';
import { consolePathLink, links } from './console-links.ts';
import { arnResource, arrayAt, numberAt, stringAt } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

const SHOWN_CONTAINERS = 5;

/** One container of a task as the event reports it. */
export interface TaskContainer {
  name: string;
  exitCode: number | undefined;
  reason: string | undefined;
}

/** What ended a task: its stop code, stopped reason and containers. */
export interface TaskStop {
  lastStatus: string;
  stopCode: string | undefined;
  stoppedReason: string | undefined;
  containers: TaskContainer[];
}

// ECS stops a task on purpose with SIGTERM, then SIGKILL after the stop timeout: exit codes 143 and
// 137 are then the stop itself (a deployment, a scale-in, a user), not the application failing.
const DELIBERATE_STOPS = new Set(['UserInitiated', 'ServiceSchedulerInitiated']);
const SIGNAL_EXITS = new Set([137, 143]);
// Stops ECS did not choose and that want a look (Spot reclaimed, instance retired).
const INTERRUPTIONS = new Set(['SpotInterruption', 'TerminationNotice']);
// A deliberate stop can still be ECS giving up on the task ("Task failed ELB health checks").
const FAILURE_REASON = /\b(fail|failed|failure|error|unhealthy|OutOfMemory)/i;

/** The containers whose exit says they failed. */
export function failedContainers(stop: TaskStop): TaskContainer[] {
  const deliberate = stop.stopCode !== undefined && DELIBERATE_STOPS.has(stop.stopCode);
  return stop.containers.filter(({ exitCode, reason }) => {
    if (exitCode === undefined) return reason !== undefined;
    if (exitCode === 0) return false;
    return !(deliberate && SIGNAL_EXITS.has(exitCode));
  });
}

/**
 * Our severity for a task state change. Only a stop can be news: an essential container failing (or
 * the task failing to start) is high; another failed container, a failure named in the stopped reason
 * or an interruption is a warning; a clean stop (exit 0, "Scaling activity initiated by deployment")
 * and every other state is info.
 */
export function taskSeverity(stop: TaskStop): Severity {
  if (stop.lastStatus !== 'STOPPED') return 'info';
  if (stop.stopCode === 'TaskFailedToStart') return 'high';
  const failed = failedContainers(stop);
  if (failed.length > 0) return stop.stopCode === 'EssentialContainerExited' ? 'high' : 'warning';
  if (stop.stoppedReason && FAILURE_REASON.test(stop.stoppedReason.slice(0, 500))) return 'warning';
  return stop.stopCode && INTERRUPTIONS.has(stop.stopCode) ? 'warning' : 'info';
}

function containersOf(detail: unknown): TaskContainer[] {
  return arrayAt(detail, 'containers').flatMap((container) => {
    const name = stringAt(container, 'name');
    return name
      ? [{ name, exitCode: numberAt(container, 'exitCode'), reason: stringAt(container, 'reason') }]
      : [];
  });
}

function containerText({ exitCode, reason }: TaskContainer): string {
  const exit = exitCode === undefined ? 'no exit code' : `exit ${exitCode}`;
  return reason ? `${exit}: ${reason}` : exit;
}

/**
 * ECS task state changes. Every change of one task threads under its ARN; the subject names the
 * cluster and the task's group (its service or family), never its state.
 */
export const ecsTaskStateChange: EventFormatter = {
  name: 'ecs-task-state-change',
  matches: (event) => event.source === 'aws.ecs' && event['detail-type'] === 'ECS Task State Change',
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const taskArn = stringAt(detail, 'taskArn');
    const lastStatus = stringAt(detail, 'lastStatus');
    const cluster = arnResource(stringAt(detail, 'clusterArn'), 'cluster');
    if (!taskArn || !lastStatus || !cluster) return undefined;
    const definition = arnResource(stringAt(detail, 'taskDefinitionArn'), 'task-definition');
    const group = stringAt(detail, 'group') ?? definition;
    const stop: TaskStop = {
      lastStatus,
      stopCode: stringAt(detail, 'stopCode'),
      stoppedReason: stringAt(detail, 'stoppedReason'),
      containers: containersOf(detail),
    };
    const failed = failedContainers(stop);
    const taskId = taskArn.slice(taskArn.lastIndexOf('/') + 1);
    return {
      subject: group ? `Task ${group} in cluster ${cluster}` : `Task ${taskId} in cluster ${cluster}`,
      severity: taskSeverity(stop),
      status: 'firing',
      summary: [
        `${lastStatus}${stop.stoppedReason ? `: ${stop.stoppedReason}` : ''}`,
        ...failed
          .slice(0, SHOWN_CONTAINERS)
          .map((container) => `Container ${container.name}: ${containerText(container)}`),
      ],
      facts: [
        ['Cluster', cluster],
        ['Group', group],
        ['Task definition', definition],
        ['Status', lastStatus],
        ['Stop code', stop.stopCode],
        ['Stopped reason', stop.stoppedReason],
        ...stop.containers
          .slice(0, SHOWN_CONTAINERS)
          .map((container): [string, string] => [`Container ${container.name}`, containerText(container)]),
        ['Launch type', stringAt(detail, 'launchType')],
        ['Availability zone', stringAt(detail, 'availabilityZone')],
        ['Task', taskId],
        ['Account', event.account],
        ['Region', event.region],
      ],
      links: links(
        consolePathLink(
          'Open the task',
          event.region,
          `ecs/v2/clusters/${encodeURIComponent(cluster)}/tasks/${encodeURIComponent(taskId)}/configuration`,
        ),
      ),
      key: taskArn,
    };
  },
};
