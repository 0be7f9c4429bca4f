// The context options a user sets with `-c key=value`, as the synthesized stack shows them.
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ContextValueError } from '../../infra/config.ts';
import {
  actionsOf,
  createApp,
  FUNCTION_NAMES,
  functionId,
  logicalId,
  NETWORK_MODES,
  roleStatements,
  synth,
} from './stack-template.ts';

/** The stage-wide method settings (`/*`), without the silence routes' own throttle. */
const stageWide = (stage: Record<string, { MethodSettings?: { ResourcePath: string }[] }> | undefined) =>
  stage?.Properties?.MethodSettings?.filter((setting) => setting.ResourcePath === '/*');

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
    repeatSeconds: '3600',
    gmailDailyLimit: '2000',
    secretArn: SECRET_ARN,
    maxConcurrency: '5',
    apiAuth: 'iam',
    eventSources: 'billing.app,deploys.app',
    eventRules: JSON.stringify({ GuardDutyFindings: { source: ['aws.guardduty'] } }),
    alertHeaders: { 'X-Team': 'payments' },
  });
  const { template } = result;
  const environment = (name: (typeof FUNCTION_NAMES)[number]) =>
    template.toJSON().Resources[functionId(result, name)].Properties.Environment.Variables;

  it('passes recipients, sender, port, cache, repeat and quota settings to every function', () => {
    for (const name of FUNCTION_NAMES) {
      expect(environment(name)).toMatchObject({
        ALERT_TO: 'oncall@example.com,team@example.com',
        ALERT_ALLOWED_RECIPIENTS: '@example.com,boss@example.org',
        ALERT_FROM: 'alerts@example.com',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
        SECRET_CACHE_SECONDS: '600',
        ALERT_REPEAT_SECONDS: '3600',
        GMAIL_DAILY_LIMIT: '2000',
        SMTP_PORT: '465',
        SMTP_SECURE: 'true',
        ALERT_HEADERS: '{"X-Team":"payments"}',
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
    // The one secret created is the generated key that signs silence links.
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const signingSecret = { Ref: logicalId(result, result.stack.signingSecret.secret) };
    for (const name of FUNCTION_NAMES) {
      expect(environment(name).GMAIL_SECRET_ID).toBe(SECRET_ARN);
      const secretStatements = roleStatements(result, name).filter((statement) =>
        actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
      );
      expect(secretStatements.length).toBeGreaterThan(0);
      expect(secretStatements.flatMap((statement) => statement.Resource)).toEqual(
        name === 'doctor' ? [SECRET_ARN] : [SECRET_ARN, signingSecret],
      );
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
    // Two for the alerts DLQ, the oldest queued alert, state-store failures, the quota guard at 80 %, two per function.
    template.resourceCountIs('AWS::CloudWatch::Alarm', 2 + 1 + 1 + 1 + 2 * FUNCTION_NAMES.length);
  });
});

describe('the alarm rule', () => {
  const alarmRule = (template: Template) =>
    Object.values(
      template.findResources('AWS::Events::Rule', {
        Properties: { EventPattern: { source: ['aws.cloudwatch'] } },
      }),
    ).map((rule) => rule.Properties.EventPattern);

  it('takes only the alarms named with alarmNamePrefix', () => {
    const [pattern] = alarmRule(synth({ alarmNamePrefix: 'prod-' }).template);
    expect(pattern.detail.alarmName).toEqual([{ prefix: 'prod-' }]);
    expect(pattern.detail.$or).toBeDefined();
  });

  it('keeps the stack’s own alarms out of a CloudWatch rule given in eventRules', () => {
    const [pattern] = alarmRule(
      synth({ eventRules: JSON.stringify({ Alarms: { source: ['aws.cloudwatch'] } }) }).template,
    );
    expect(pattern).toEqual({
      source: ['aws.cloudwatch'],
      detail: { alarmName: [{ 'anything-but': { prefix: 'GmailAlerts/' } }] },
    });
  });

  it.each([
    [{ alarmNamePrefix: 'Gmail' }, 'alarmNamePrefix', 'own alarms'],
    [{ alarmNamePrefix: 'GmailAlerts/http' }, 'alarmNamePrefix', 'own alarms'],
    [{ alarmNamePrefix: 'prod-', eventRules: '{}' }, 'alarmNamePrefix', 'eventRules has none'],
    [
      {
        eventRules: JSON.stringify({
          Mine: { source: ['aws.cloudwatch'], detail: { alarmName: ['GmailAlerts/httpErrors'] } },
        }),
      },
      'eventRules',
      'own alarms',
    ],
  ])('refuses %j, naming %s', (context, key, problem) => {
    let caught: unknown;
    try {
      createApp(context);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ContextValueError);
    expect((caught as ContextValueError).key).toBe(key);
    expect((caught as ContextValueError).message).toContain(problem);
  });
});

describe('API Gateway options', () => {
  it('creates the account logging role and logs access and errors only with apiGatewayCloudWatchRole=true', () => {
    const { template } = synth({ apiGatewayCloudWatchRole: 'true' });
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    const accessLog = stage?.Properties.AccessLogSetting;
    expect(JSON.stringify(accessLog.DestinationArn)).toMatch(/"ApiAccessLogs[0-9A-F]+"/);
    expect(JSON.parse(accessLog.Format)).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
    });
    expect(stageWide(stage)).toEqual([
      expect.objectContaining({ LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: false }),
    ]);
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: { 'Fn::Join': ['', Match.arrayWith(['API-Gateway-Execution-Logs_'])] },
      RetentionInDays: 30,
    });
  });

  it('sends AUTH and the first message one after the other with smtpPipelineAuth=false, and leaves the default to the functions', () => {
    const environments = (context: Record<string, unknown>) =>
      Object.values(synth(context).template.findResources('AWS::Lambda::Function')).map(
        (fn) =>
          (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties
            .Environment?.Variables ?? {},
      );
    const off = environments({ smtpPipelineAuth: false }).filter(
      (variables) => 'GMAIL_SECRET_ID' in variables,
    );
    expect(off.length).toBeGreaterThan(0);
    for (const variables of off) expect(variables.SMTP_PIPELINE_AUTH).toBe('false');
    for (const variables of environments({})) expect(variables).not.toHaveProperty('SMTP_PIPELINE_AUTH');
  });

  it('turns per-method metrics on with apiDetailedMetrics=true', () => {
    const { template } = synth({ apiDetailedMetrics: true });
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(stageWide(stage)).toEqual([expect.objectContaining({ MetricsEnabled: true })]);
    template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('an imported secret under a customer managed key', () => {
  const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const result = synth({ secretArn: SECRET_ARN, secretKmsKeyArn: KEY_ARN });

  it('lets every function decrypt with that key, through Secrets Manager only', () => {
    for (const name of FUNCTION_NAMES) {
      const decrypt = roleStatements(result, name).filter((statement) =>
        actionsOf(statement).includes('kms:Decrypt'),
      );
      expect(decrypt).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Resource: KEY_ARN,
          Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.us-east-1.amazonaws.com' } },
        }),
      ]);
    }
  });
});

describe('alertHeaders', () => {
  it('refuses a header that would replace one the mail needs, naming the key', () => {
    expect(() =>
      createApp({ alertTo: 'oncall@example.com', alertHeaders: '{"Reply-To":"x@example.com"}' }),
    ).toThrow(/CDK context "alertHeaders" is not valid for ALERT_HEADERS: "Reply-To" is not allowed/);
  });
});

describe('without recipients', () => {
  it('refuses to build the stack, naming -c alertTo', () => {
    expect(() => createApp({ alertTo: '' })).toThrow(/CDK context "alertTo" is not set: pass -c alertTo=/);
  });
});

describe('smtpHost beyond Gmail', () => {
  const environment = (result: ReturnType<typeof synth>) =>
    result.template.toJSON().Resources[functionId(result, 'http')].Properties.Environment.Variables;

  it('points every function at the Workspace SMTP relay, or at SES with its verified sender', () => {
    const relay = synth({ alertTo: 'oncall@example.com', smtpHost: 'smtp-relay.gmail.com' });
    const ses = synth({
      alertTo: 'oncall@example.com',
      smtpHost: 'email-smtp.eu-west-1.amazonaws.com',
      alertFrom: 'alerts@example.com',
    });

    expect(environment(relay)).toMatchObject({ SMTP_HOST: 'smtp-relay.gmail.com', SMTP_PORT: '587' });
    expect(environment(ses)).toMatchObject({
      SMTP_HOST: 'email-smtp.eu-west-1.amazonaws.com',
      ALERT_FROM: 'alerts@example.com',
    });
  });

  it('refuses SES without alertFrom, naming ALERT_FROM: the SES user name is no sender', () => {
    expect(() =>
      createApp({ alertTo: 'oncall@example.com', smtpHost: 'email-smtp.eu-west-1.amazonaws.com' }),
    ).toThrow(/ALERT_FROM: is not set, but email-smtp\.eu-west-1\.amazonaws\.com \(Amazon SES\)/);
  });
});
