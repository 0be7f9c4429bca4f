// The context options a user sets with `-c key=value`, as the synthesized stack shows them.
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  actionsOf,
  FUNCTION_NAMES,
  functionId,
  NETWORK_MODES,
  roleStatements,
  synth,
} from './stack-template.ts';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111122223333:secret:gmail-alerts/smtp-AbCdEf';

describe('a customised deployment', () => {
  const result = synth({
    ...NETWORK_MODES.new,
    smtpPort: '465',
    alertTo: 'oncall@example.com, team@example.com',
    allowedRecipients: '@example.com,boss@example.org',
    alertFrom: 'alerts@example.com',
    logLevel: 'debug',
    secretCacheSeconds: '600',
    secretArn: SECRET_ARN,
    maxConcurrency: '5',
    apiAuth: 'iam',
    eventSources: 'billing.app,deploys.app',
    eventRules: JSON.stringify({ GuardDutyFindings: { source: ['aws.guardduty'] } }),
  });
  const { template } = result;
  const environment = (name: (typeof FUNCTION_NAMES)[number]) =>
    template.toJSON().Resources[functionId(result, name)].Properties.Environment.Variables;

  it('passes recipients, sender, port and cache settings to every function', () => {
    for (const name of FUNCTION_NAMES) {
      expect(environment(name)).toMatchObject({
        ALERT_TO: 'oncall@example.com,team@example.com',
        ALERT_ALLOWED_RECIPIENTS: '@example.com,boss@example.org',
        ALERT_FROM: 'alerts@example.com',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        SECRET_CACHE_SECONDS: '600',
        SMTP_PORT: '465',
        SMTP_SECURE: 'true',
      });
    }
  });

  it('opens 465 instead of 587 in the security group, and nothing else is added', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: Match.exact([
        Match.objectLike({ IpProtocol: 'tcp', FromPort: 465, ToPort: 465, CidrIp: '0.0.0.0/0' }),
        Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: '0.0.0.0/0' }),
      ]),
    });
  });

  it('reads the existing secret from secretArn, creates none, and may read only that ARN', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    for (const name of FUNCTION_NAMES) {
      expect(environment(name).GMAIL_SECRET_ID).toBe(SECRET_ARN);
      const secretStatements = roleStatements(result, name).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
      );
      expect(secretStatements.length).toBeGreaterThan(0);
      for (const statement of secretStatements) expect(statement.Resource).toBe(SECRET_ARN);
    }
  });

  it('bounds the SQS pollers by maxConcurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it('requires SigV4 with apiAuth=iam, without API key or usage plan', () => {
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      AuthorizationType: 'AWS_IAM',
    });
    const [method] = Object.values(template.findResources('AWS::ApiGateway::Method'));
    expect(method?.Properties.ApiKeyRequired).toBeUndefined();
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
  });

  it('replaces the default EventBridge rules with eventRules and eventSources', () => {
    template.resourceCountIs('AWS::Events::Rule', 2);
    template.hasResourceProperties('AWS::Events::Rule', { EventPattern: { source: ['aws.guardduty'] } });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['billing.app', 'deploys.app'] },
    });
  });
});

describe('a minimal deployment', () => {
  const { template } = synth({ dailyQuota: '400', eventSources: '[]', eventRules: '{}' });

  it('sets the daily quota of the usage plan', () => {
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', { Quota: { Limit: 400, Period: 'DAY' } });
  });

  it('can turn every EventBridge rule off', () => {
    template.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('keeps the topic and alarms without opsEmail, with no subscription yet', () => {
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 1 + 1 + 2 * FUNCTION_NAMES.length);
  });
});
