import { Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { createApp, NETWORK_MODES, synth } from './stack-template.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:gmail-alerts/smtp-AbCdEf';

/** Every cdk-nag acknowledgement recorded in the tree, as rule id → reasons. */
function acknowledgements(root: IConstruct): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const node of root.node.findAll()) {
    for (const entry of node.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const rule = id.replace(/^annotation::/i, '');
        if (!/^(AwsSolutions|Serverless)-/.test(rule)) continue;
        found.set(rule, [...(found.get(rule) ?? []), reason]);
      }
    }
  }
  return found;
}

const NO_STAGE_LOGS = ['AwsSolutions-APIG1', 'AwsSolutions-APIG6', 'Serverless-APIGWAccessLogging'];
const LOGGING_ROLE =
  'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]';

describe.each([
  ['no VPC, API key', { ...NETWORK_MODES.none, opsEmail: 'ops@example.com' }, NO_STAGE_LOGS],
  [
    'vpc=new, IAM auth, API Gateway logging role',
    { ...NETWORK_MODES.new, apiAuth: 'iam', opsEmail: 'ops@example.com', apiGatewayCloudWatchRole: 'true' },
    [LOGGING_ROLE],
  ],
  [
    'vpc=<id>, imported secret under a customer managed key',
    {
      ...NETWORK_MODES.existing,
      secretArn: SECRET_ARN,
      secretKmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
    },
    NO_STAGE_LOGS,
  ],
])('cdk-nag, %s', (_name, context, specific) => {
  const { app } = synth(context);

  it('finds nothing unacknowledged in the AwsSolutions and Serverless packs', () => {
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
    expect(new ServerlessChecks().validateScope(app).violations).toEqual([]);
  });

  it('acknowledges only specific findings, each with its reason', () => {
    const found = acknowledgements(app);
    for (const [id, reasons] of found) {
      // A wildcard finding is acknowledged for one exact resource pattern, never for the whole rule.
      if (/AwsSolutions-IAM[45]$/.test(id)) throw new Error(`${id} is acknowledged without a finding`);
      for (const reason of reasons) expect(reason.length, id).toBeGreaterThan(80);
    }
    expect([...found.keys()].sort()).toEqual(
      expect.arrayContaining([
        'AwsSolutions-APIG2',
        'AwsSolutions-APIG3',
        'AwsSolutions-COG4',
        'AwsSolutions-IAM5[Resource::*]',
        ...specific,
        'AwsSolutions-SQS3',
        'Serverless-LambdaDLQ',
        'Serverless-LambdaEventSourceMappingDestination',
        'Serverless-SQSRedrivePolicy',
      ]),
    );
    // Stage logging is acknowledged as off only where it is off, and the logging role only where it exists.
    const logging = specific.includes(LOGGING_ROLE);
    expect(found.has(LOGGING_ROLE)).toBe(logging);
    for (const id of NO_STAGE_LOGS) expect(found.has(id), id).toBe(!logging);
  });
});

describe('an unacknowledged finding', () => {
  it('makes the synth fail with the cdk-nag report', () => {
    const { app, stack } = createApp();
    new Queue(stack, 'QueueWithoutDeadLetterQueue');
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS3/);
  });
});
