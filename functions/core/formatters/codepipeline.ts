import type { AlertStatus, Severity } from '../alert.ts';
import { consolePathLink, links } from './console-links.ts';
import { numberAt, stringAt } from './event-text.ts';
import type { AnyEvent, EventFormatter, FormattedEvent } from './types.ts';

const DETAIL_TYPES = new Set([
  'CodePipeline Pipeline Execution State Change',
  'CodePipeline Stage Execution State Change',
  'CodePipeline Action Execution State Change',
]);

// An execution id is a UUID: its first group is enough to tell executions apart in a subject.
const SHORT_ID_LENGTH = 8;

/**
 * Our severity and status for a pipeline, stage or action state. FAILED is high; an execution that
 * was stopped, superseded, cancelled or abandoned did not deliver but did not break either, so it is a
 * warning; SUCCEEDED resolves the execution's thread; the rest (STARTED, RESUMED, STOPPING) is news.
 */
export function pipelineSeverity(state: string): { severity: Severity; status: AlertStatus } {
  switch (state) {
    case 'FAILED':
      return { severity: 'high', status: 'firing' };
    case 'STOPPED':
    case 'SUPERSEDED':
    case 'CANCELED':
    case 'ABANDONED':
      return { severity: 'warning', status: 'firing' };
    case 'SUCCEEDED':
      return { severity: 'info', status: 'resolved' };
    default:
      return { severity: 'info', status: 'firing' };
  }
}

/** Where the state happened, as far as the event says: `at stage Deploy, action DeployToProd`. */
function place(stage: string | undefined, action: string | undefined): string {
  if (stage && action) return ` at stage ${stage}, action ${action}`;
  if (stage) return ` at stage ${stage}`;
  return action ? ` at action ${action}` : '';
}

/**
 * CodePipeline execution, stage and action state changes. Every event of one execution threads under
 * `<pipeline>:<execution id>`, and the subject names the execution, so each run is its own conversation.
 */
export const codePipelineExecution: EventFormatter = {
  name: 'codepipeline-execution',
  matches: (event) => event.source === 'aws.codepipeline' && DETAIL_TYPES.has(event['detail-type']),
  format(event: AnyEvent): FormattedEvent | undefined {
    const detail = event.detail;
    const pipeline = stringAt(detail, 'pipeline');
    const execution = stringAt(detail, 'execution-id');
    const state = stringAt(detail, 'state');
    if (!pipeline || !execution || !state) return undefined;
    const stage = stringAt(detail, 'stage');
    const action = stringAt(detail, 'action');
    const errorCode = stringAt(detail, 'execution-result', 'error-code');
    const outcome = stringAt(detail, 'execution-result', 'external-execution-summary');
    const provider = stringAt(detail, 'type', 'provider');
    const category = stringAt(detail, 'type', 'category');
    return {
      subject: `Pipeline ${pipeline}, execution ${execution.slice(0, SHORT_ID_LENGTH)}`,
      ...pipelineSeverity(state),
      summary: [`${state}${place(stage, action)}${outcome ? `: ${outcome}` : ''}`],
      facts: [
        ['Pipeline', pipeline],
        ['State', state],
        ['Stage', stage],
        ['Action', action],
        ['Action type', category && provider ? `${category} (${provider})` : (provider ?? category)],
        ['Error', errorCode],
        ['Execution', execution],
        ['Trigger', stringAt(detail, 'execution-trigger', 'trigger-type')],
        ['Attempt', numberAt(detail, 'pipeline-execution-attempt')],
        ['Account', event.account],
        ['Region', event.region],
      ],
      links: links(
        consolePathLink(
          'Open the execution',
          event.region,
          `codesuite/codepipeline/pipelines/${encodeURIComponent(pipeline)}/executions/${encodeURIComponent(execution)}/timeline`,
        ),
      ),
      key: `${pipeline}:${execution}`,
    };
  },
};
