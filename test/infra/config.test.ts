import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { CONTEXT_DEFAULTS, ContextValueError, readAlertingConfig } from '../../infra/config.ts';

const read = (context: Record<string, unknown>) => readAlertingConfig(new App({ context }).node);
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
      alertTo: [],
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
  ])('rejects %j, naming the key %s', (context, key) => {
    const error = failure(context);
    expect(error).toBeInstanceOf(ContextValueError);
    expect(error.key).toBe(key);
    expect(error.message).toContain(`"${key}"`);
  });
});
