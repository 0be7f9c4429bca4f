import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CONTEXT_DEFAULTS, ContextValueError, readAlertingConfig } from '../../infra/config.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:gmail-alerts/smtp-AbCdEf';
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const read = (context: Record<string, unknown>) =>
  readAlertingConfig(new App({ context: { alertTo: 'oncall@example.com', ...context } }).node);
const failure = (context: Record<string, unknown>) => {
  try {
    read(context);
  } catch (error) {
    return error as ContextValueError;
  }
  throw new Error('expected a ContextValueError');
};

describe('readAlertingConfig', () => {
  it('defaults to no VPC, API keys, port 587 and a daily quota under Gmail’s 2,000', () => {
    const config = read({});
    expect(config).toMatchObject({
      network: { kind: 'none' },
      apiAuth: 'apiKey',
      smtpHost: 'smtp.gmail.com',
      smtpPort: 587,
      dailyQuota: 1500,
      maxConcurrency: 2,
      eventSources: ['alerts.app'],
      functionsDir: 'dist/functions',
      alertTo: ['oncall@example.com'],
      apiGatewayCloudWatchRole: false,
      apiDetailedMetrics: false,
      smtpPipelineAuth: true,
      alarmNamePrefix: undefined,
      secretKmsKeyArn: undefined,
    });
    expect(config.dailyQuota).toBeLessThan(2000);
    expect(Object.keys(config.eventRules)).toEqual(Object.keys(CONTEXT_DEFAULTS.eventRules));
  });

  it('reads lists as cdk.json arrays, JSON text or comma-separated text', () => {
    expect(read({ alertTo: ['a@example.com', 'b@example.com'] }).alertTo).toEqual([
      'a@example.com',
      'b@example.com',
    ]);
    expect(read({ alertTo: '["a@example.com"]' }).alertTo).toEqual(['a@example.com']);
    expect(read({ alertTo: ' a@example.com , b@example.com ' }).alertTo).toEqual([
      'a@example.com',
      'b@example.com',
    ]);
  });

  it('normalises addresses by the rule the functions apply', () => {
    const config = read({ alertTo: 'OnCall@Example.com', allowedRecipients: '@Ops.Example.com' });
    expect(config.alertTo).toEqual(['oncall@example.com']);
    expect(config.allowedRecipients).toEqual(['@ops.example.com']);
  });

  it('refuses a stack without alertTo, saying what to pass and what it is', () => {
    for (const alertTo of [undefined, '', ' , ', []]) {
      const error = failure({ alertTo });
      expect(error.key).toBe('alertTo');
      expect(error.message).toContain('-c alertTo=');
      expect(error.message).toContain('the addresses every alert is mailed to');
    }
  });

  it('reads the opt-ins as booleans, from cdk.json or -c text', () => {
    expect(read({ apiGatewayCloudWatchRole: true, apiDetailedMetrics: 'true' })).toMatchObject({
      apiGatewayCloudWatchRole: true,
      apiDetailedMetrics: true,
    });
  });

  it('takes a KMS key for an imported secret', () => {
    expect(read({ secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN })).toMatchObject({
      secretArn: SECRET_ARN,
      secretKmsKeyArn: KEY_ARN,
    });
  });

  it('imports a VPC from ids alone', () => {
    const config = read({
      vpc: 'vpc-0123456789abcdef0',
      privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1,subnet-0bbbbbbbbbbbbbbb2',
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    });
    expect(config.network).toEqual({
      kind: 'existing',
      vpcId: 'vpc-0123456789abcdef0',
      privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
      availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      privateSubnetRouteTableIds: undefined,
    });
  });

  it.each([
    [{ vpc: 'default' }, 'vpc'],
    [{ vpc: 'vpc-0123456789abcdef0' }, 'privateSubnetIds'],
    [{ vpc: 'vpc-0123456789abcdef0', privateSubnetIds: 'subnet-0aaaaaaaaaaaaaaa1' }, 'availabilityZones'],
    [{ apiAuth: 'basic' }, 'apiAuth'],
    [{ smtpPort: '25x' }, 'smtpPort'],
    [{ maxConcurrency: '1' }, 'maxConcurrency'],
    [{ dailyQuota: '0' }, 'dailyQuota'],
    [{ alertTo: 'Ops <ops@example.com>' }, 'alertTo'],
    [{ allowedRecipients: 'example.com' }, 'allowedRecipients'],
    [{ opsEmail: 'ops' }, 'opsEmail'],
    [{ secretArn: 'arn:aws:secretsmanager:us-east-1:111122223333:secret:gmail' }, 'secretArn'],
    [{ eventRules: '{not json' }, 'eventRules'],
    [{ eventRules: { 'bad name': { source: ['x'] } } }, 'eventRules'],
    [{ eventSources: 'aws.health' }, 'eventSources'],
    [{ logLevel: 'loud' }, 'logLevel'],
    [{ alertTo: 'jörg@example.com' }, 'alertTo'],
    [{ alertTo: 'oncall@example.com,jörg@example.com' }, 'alertTo'],
    [{ alertTo: ['oncall@example.com', 'ops@exam ple.com'] }, 'alertTo'],
    [{ alertFrom: 'alerts@exämple.com' }, 'alertFrom'],
    [{ opsEmail: 'ops@exämple.com' }, 'opsEmail'],
    [{ smtpHost: 'smtp.gmail.com:587' }, 'smtpHost'],
    [{ secretCacheSeconds: '90000' }, 'secretCacheSeconds'],
    [{ gmailDailyLimit: '2k' }, 'gmailDailyLimit'],
    [{ repeatSeconds: '-1' }, 'repeatSeconds'],
    [{ secretKmsKeyArn: KEY_ARN }, 'secretKmsKeyArn'],
    [
      { secretArn: SECRET_ARN, secretKmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:alias/gmail' },
      'secretKmsKeyArn',
    ],
    [
      { secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN.replace('us-east-1', 'eu-west-1') },
      'secretKmsKeyArn',
    ],
    [{ alarmNamePrefix: 'prod\talarms' }, 'alarmNamePrefix'],
    [{ apiGatewayCloudWatchRole: 'yes' }, 'apiGatewayCloudWatchRole'],
    [{ apiDetailedMetrics: 1 }, 'apiDetailedMetrics'],
  ])('rejects %j, naming the key %s', (context, key) => {
    const error = failure(context);
    expect(error).toBeInstanceOf(ContextValueError);
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
  });
});
