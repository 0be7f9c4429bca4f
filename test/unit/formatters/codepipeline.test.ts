import { describe, expect, it } from 'vitest';
import { codePipelineExecution, pipelineSeverity } from '../../../functions/core/formatters/codepipeline.ts';
import { factsOf, format, loadEvent, withDetail } from './fixtures.ts';

const EXECUTION_LINK =
  'https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/deploy-prod/executions/1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d/timeline?region=eu-west-1';

describe('codePipelineExecution', () => {
  it('names the execution, keyed by pipeline and execution id, high when it fails', () => {
    const formatted = format(codePipelineExecution, loadEvent('eventbridge-codepipeline-failed'));

    expect(formatted.subject).toBe('Pipeline deploy-prod, execution 1a2b3c4d');
    expect(formatted.severity).toBe('high');
    expect(formatted.status).toBe('firing');
    expect(formatted.key).toBe('deploy-prod:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d');
    expect(formatted.summary[0]).toBe('FAILED');
    expect(factsOf(formatted)).toMatchObject({
      Pipeline: 'deploy-prod',
      State: 'FAILED',
      Trigger: 'Webhook',
    });
    expect(formatted.links).toEqual([{ title: 'Open the execution', url: EXECUTION_LINK }]);
  });

  it('says at which stage a stage failed, in the same thread as its execution', () => {
    const formatted = format(codePipelineExecution, loadEvent('eventbridge-codepipeline-stage'));

    expect(formatted.summary[0]).toBe('FAILED at stage Deploy');
    expect(formatted.subject).toBe('Pipeline deploy-prod, execution 1a2b3c4d');
    expect(formatted.key).toBe('deploy-prod:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d');
  });

  it("says at which stage and action an action failed, with the provider's own summary", () => {
    const formatted = format(codePipelineExecution, loadEvent('eventbridge-codepipeline-action-failed'));

    expect(formatted.summary[0]).toBe(
      'FAILED at stage Deploy, action DeployToProd: Deployment d-7QWERTY12 failed: 2 of 4 instances failed the ValidateService lifecycle event',
    );
    expect(factsOf(formatted)).toMatchObject({
      Stage: 'Deploy',
      Action: 'DeployToProd',
      'Action type': 'Deploy (CodeDeploy)',
      Error: 'JobFailed',
    });
    expect(formatted.links[0]?.url).toBe(EXECUTION_LINK);
  });

  it('resolves the thread of an execution that succeeded', () => {
    const formatted = format(codePipelineExecution, loadEvent('eventbridge-codepipeline-succeeded'));

    expect(formatted).toMatchObject({
      subject: 'Pipeline deploy-prod, execution 9f8e7d6c',
      severity: 'info',
      status: 'resolved',
      key: 'deploy-prod:9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
    });
    expect(formatted.summary[0]).toBe('SUCCEEDED');
  });

  it('encodes a pipeline name into the link path and refuses a region that is not one', () => {
    const odd = withDetail(loadEvent('eventbridge-codepipeline-failed'), { pipeline: 'a/../b?c' });

    expect(format(codePipelineExecution, odd).links[0]?.url).toContain(
      '/pipelines/a%2F..%2Fb%3Fc/executions/',
    );
    expect(format(codePipelineExecution, { ...odd, region: 'evil.example/x' }).links).toEqual([]);
  });

  it.each([
    ['no pipeline', { pipeline: undefined }],
    ['no execution id', { 'execution-id': '' }],
    ['a state that is not text', { state: ['FAILED'] }],
  ])('leaves an event with %s to the generic rendering', (_case, patch) => {
    expect(
      codePipelineExecution.format(withDetail(loadEvent('eventbridge-codepipeline-failed'), patch)),
    ).toBeUndefined();
  });
});

describe('pipelineSeverity', () => {
  it.each([
    ['FAILED', 'high', 'firing'],
    ['STOPPED', 'warning', 'firing'],
    ['SUPERSEDED', 'warning', 'firing'],
    ['CANCELED', 'warning', 'firing'],
    ['ABANDONED', 'warning', 'firing'],
    ['SUCCEEDED', 'info', 'resolved'],
    ['STARTED', 'info', 'firing'],
    ['RESUMED', 'info', 'firing'],
    ['STOPPING', 'info', 'firing'],
  ])('maps %s to %s, %s', (state, severity, status) => {
    expect(pipelineSeverity(state)).toEqual({ severity, status });
  });
});
