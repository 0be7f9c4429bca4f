// Every point of the stack in each network mode: no VPC (default), vpc=new and vpc=<id> from context.
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FUNCTION_TIMEOUTS, type FunctionName } from '../../infra/alerting-stack.ts';
import {
  API_KEY_THROTTLE,
  SILENCE_THROTTLE,
  STAGE_NAME,
  STAGE_THROTTLE,
} from '../../infra/constructs/alert-api.ts';
import { EVENT_RETRY } from '../../infra/constructs/alert-events.ts';
import { FUNCTION_MEMORY_MB } from '../../infra/constructs/alert-function.ts';
import { MAX_RECEIVE_COUNT } from '../../infra/constructs/alert-queue.ts';
import { SIGNING_KEY_LENGTH } from '../../infra/constructs/signing-secret.ts';
import {
  ALERT_TO,
  actionsOf,
  EXISTING_VPC,
  FUNCTION_NAMES,
  functionId,
  logicalId,
  NETWORK_MODES,
  roleStatements,
  type Statement,
  type SynthesizedApp,
  synth,
} from './stack-template.ts';

const OPS_EMAIL = 'ops@example.com';
const inMode = (mode: keyof typeof NETWORK_MODES) => synth({ ...NETWORK_MODES[mode], opsEmail: OPS_EMAIL });

const resourceOf = (result: SynthesizedApp, name: FunctionName) =>
  result.template.toJSON().Resources[functionId(result, name)];
const secretStatements = (statements: Statement[]) =>
  statements.filter((statement) =>
    actionsOf(statement).some((action) => action.startsWith('secretsmanager:')),
  );
const smtpAndHttpsOnly = (smtpPort: number) =>
  Match.exact(
    [
      {
        CidrIp: '0.0.0.0/0',
        IpProtocol: 'tcp',
        FromPort: smtpPort,
        ToPort: smtpPort,
        Description: Match.anyValue(),
      },
      { CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: Match.anyValue() },
    ].map((rule) => Match.objectEquals(rule)),
  );

describe.each(['none', 'new', 'existing'] as const)('network mode %s', (mode) => {
  const result = inMode(mode);
  const { template, stack } = result;
  const queueId = logicalId(result, stack.queue.queue);
  const dlqId = logicalId(result, stack.queue.deadLetterQueue);
  const dlqArn = { 'Fn::GetAtt': [dlqId, 'Arn'] };
  const secretId = logicalId(result, stack.gmailSecret.secret as never);
  const signingId = logicalId(result, stack.signingSecret.secret);
  const apiId = logicalId(result, stack.api.api);
  const renders = (name: FunctionName) => name !== 'doctor';

  describe('functions', () => {
    it('deploy the four bundles on Node.js 24, arm64, with explicit memory, timeout and active tracing', () => {
      for (const name of FUNCTION_NAMES) {
        expect(resourceOf(result, name).Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          MemorySize: FUNCTION_MEMORY_MB,
          Timeout: FUNCTION_TIMEOUTS[name].toSeconds(),
          TracingConfig: { Mode: 'Active' },
        });
      }
      template.resourcePropertiesCountIs('AWS::Lambda::Function', { Handler: 'index.handler' }, 4);
      expect(FUNCTION_TIMEOUTS.http.toSeconds()).toBeLessThan(29);
    });

    it('log to their own log groups, with a retention', () => {
      for (const name of FUNCTION_NAMES) {
        const logGroupId = logicalId(result, stack.functions[name].logGroup);
        expect(resourceOf(result, name).Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
        expect(template.toJSON().Resources[logGroupId].Properties).toEqual({ RetentionInDays: 30 });
      }
    });

    it('get the configuration contract in their environment', () => {
      for (const name of FUNCTION_NAMES) {
        expect(resourceOf(result, name).Properties.Environment.Variables).toEqual({
          GMAIL_SECRET_ID: { Ref: secretId },
          SMTP_HOST: 'smtp.gmail.com',
          SMTP_PORT: '587',
          SMTP_SECURE: 'false',
          SECRET_CACHE_SECONDS: '300',
          ALERT_QUEUE_URL: { Ref: queueId },
          ALERT_DLQ_URL: { Ref: dlqId },
          ALERT_MAX_RECEIVES: '5',
          ALERT_STATE_TABLE: { Ref: logicalId(result, stack.state.table) },
          ALERT_REPEAT_SECONDS: '14400',
          GMAIL_DAILY_LIMIT: '500',
          ALERT_TO: ALERT_TO,
          ALERT_STACK_NAME: stack.stackName,
          ALERT_SIGNING_SECRET_ID: { Ref: signingId },
          // Built from the API's id, so the function does not depend on the stage that depends on it.
          ...(renders(name)
            ? {
                ALERT_SILENCE_BASE_URL: {
                  'Fn::Join': [
                    '',
                    [
                      'https://',
                      { Ref: apiId },
                      '.execute-api.',
                      { Ref: 'AWS::Region' },
                      '.',
                      { Ref: 'AWS::URLSuffix' },
                      `/${STAGE_NAME}`,
                    ],
                  ],
                },
              }
            : {}),
          POWERTOOLS_SERVICE_NAME: 'gmail-alerts',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
        });
      }
    });

    it('may read the Gmail secret, the functions that render mails the signing secret, and nothing else', () => {
      for (const name of FUNCTION_NAMES) {
        const statements = secretStatements(roleStatements(result, name));
        expect(statements.flatMap((statement) => statement.Resource)).toEqual(
          renders(name) ? [{ Ref: secretId }, { Ref: signingId }] : [{ Ref: secretId }],
        );
        expect(statements.flatMap(actionsOf)).toContain('secretsmanager:GetSecretValue');
      }
      const everyStatement = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
      );
      expect(secretStatements(everyStatement).length).toBeGreaterThanOrEqual(FUNCTION_NAMES.length);
      for (const resource of secretStatements(everyStatement).flatMap((statement) => statement.Resource))
        expect([{ Ref: secretId }, { Ref: signingId }]).toContainEqual(resource);
    });

    it('generates the signing key as JSON {"key"} of 64 letters and digits, never in the template', () => {
      template.hasResourceProperties('AWS::SecretsManager::Secret', {
        GenerateSecretString: {
          SecretStringTemplate: '{}',
          GenerateStringKey: 'key',
          PasswordLength: SIGNING_KEY_LENGTH,
          ExcludePunctuation: true,
          IncludeSpace: false,
        },
      });
      expect(template.toJSON().Resources[signingId].Properties.SecretString).toBeUndefined();
      template.hasOutput('SigningSecretArn', { Value: { Ref: signingId } });
    });

    it('may send: http, sqs and eventbridge to the queue and the DLQ, doctor nowhere', () => {
      const sendsTo = (name: FunctionName) =>
        roleStatements(result, name)
          .filter((statement) => actionsOf(statement).includes('sqs:SendMessage'))
          .flatMap((statement) =>
            Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource],
          );
      for (const name of ['http', 'sqs', 'eventbridge'] as const) {
        expect(sendsTo(name)).toEqual(expect.arrayContaining([{ 'Fn::GetAtt': [queueId, 'Arn'] }, dlqArn]));
        expect(sendsTo(name)).toHaveLength(2);
      }
      const doctorSqs = roleStatements(result, 'doctor')
        .flatMap(actionsOf)
        .filter((action) => action.startsWith('sqs:'));
      expect(doctorSqs).toEqual([]);
    });

    it('use "*" resources only for X-Ray and, in a VPC, the network-interface actions', () => {
      const allowed = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
      if (mode !== 'none') {
        allowed.push(
          'ec2:AssignPrivateIpAddresses',
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:UnassignPrivateIpAddresses',
        );
      }
      for (const name of FUNCTION_NAMES) {
        const wildcard = roleStatements(result, name).filter((statement) => statement.Resource === '*');
        expect(wildcard.flatMap(actionsOf).sort()).toEqual(allowed.sort());
        const roleId = logicalId(result, stack.functions[name].role);
        expect(template.toJSON().Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('alerts queue', () => {
    const queue = () => template.toJSON().Resources[queueId].Properties;

    it('encrypts both queues and refuses requests without TLS', () => {
      for (const id of [queueId, dlqId]) {
        expect(template.toJSON().Resources[id].Properties.SqsManagedSseEnabled).toBe(true);
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 'sqs:*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
    });

    it(`moves an alert to the dead-letter queue after ${MAX_RECEIVE_COUNT} receives`, () => {
      expect(queue().RedrivePolicy).toEqual({
        deadLetterTargetArn: dlqArn,
        maxReceiveCount: MAX_RECEIVE_COUNT,
      });
      expect(template.toJSON().Resources[dlqId].Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    });

    it('keeps a message invisible for at least six times the consumer timeout', () => {
      expect(queue().VisibilityTimeout).toBeGreaterThanOrEqual(6 * FUNCTION_TIMEOUTS.sqs.toSeconds());
    });

    it('feeds the sqs function with per-message failure reports and bounded concurrency', () => {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        FunctionName: { Ref: functionId(result, 'sqs') },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 2 },
        BatchSize: 10,
      });
    });
  });

  describe('EventBridge', () => {
    const target = Match.objectLike({
      Arn: { 'Fn::GetAtt': [functionId(result, 'eventbridge'), 'Arn'] },
      DeadLetterConfig: { Arn: dlqArn },
      RetryPolicy: {
        MaximumRetryAttempts: EVENT_RETRY.targetRetryAttempts,
        MaximumEventAgeInSeconds: EVENT_RETRY.targetMaxEventAge.toSeconds(),
      },
    });

    it('sends CloudWatch alarm state changes and events from alerts.app to the eventbridge function', () => {
      template.resourceCountIs('AWS::Events::Rule', 2);
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: Match.objectLike({
          source: ['aws.cloudwatch'],
          'detail-type': ['CloudWatch Alarm State Change'],
        }),
        Targets: [target],
      });
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: { source: ['alerts.app'] },
        Targets: [target],
      });
    });

    it('leaves the stack’s own alarms out of the alarm rule, all of them named with the stack’s prefix', () => {
      const [alarmRule] = Object.values(
        template.findResources('AWS::Events::Rule', {
          Properties: { EventPattern: { source: ['aws.cloudwatch'] } },
        }),
      );
      expect(alarmRule?.Properties.EventPattern.detail.alarmName).toEqual([
        { 'anything-but': { prefix: `${stack.stackName}/` } },
      ]);
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThan(0);
      for (const alarm of alarms)
        expect(alarm.Properties.AlarmName).toMatch(new RegExp(`^${stack.stackName}/`));
    });

    it('lets exactly those rules put failed deliveries in the DLQ', () => {
      for (const ruleId of Object.keys(template.findResources('AWS::Events::Rule'))) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: dlqId }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Allow',
                Action: 'sqs:SendMessage',
                Principal: { Service: 'events.amazonaws.com' },
                Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId, 'Arn'] } } },
              }),
            ]),
          },
        });
      }
    });

    it('retries the function explicitly and sends what still fails to the DLQ', () => {
      template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: functionId(result, 'eventbridge') },
        MaximumRetryAttempts: EVENT_RETRY.functionRetryAttempts,
        MaximumEventAgeInSeconds: EVENT_RETRY.functionMaxEventAge.toSeconds(),
        DestinationConfig: { OnFailure: { Destination: dlqArn } },
      });
    });
  });

  describe('API', () => {
    it('has POST /alerts, which requires an API key before the Lambda proxy integration', () => {
      template.resourceCountIs('AWS::ApiGateway::Method', 3);
      template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'alerts' });
      template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: 'POST',
        ApiKeyRequired: true,
        AuthorizationType: 'NONE',
        Integration: {
          Type: 'AWS_PROXY',
          Uri: { 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [functionId(result, 'http'), 'Arn'] }])] },
        },
      });
    });

    it('has GET and POST /silences/{token} without an API key, to the same function, throttled on their own', () => {
      template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: 'silences' });
      template.hasResourceProperties('AWS::ApiGateway::Resource', { PathPart: '{token}' });
      for (const method of ['GET', 'POST']) {
        template.hasResourceProperties('AWS::ApiGateway::Method', {
          HttpMethod: method,
          ApiKeyRequired: false,
          AuthorizationType: 'NONE',
          ResourceId: { Ref: Match.stringLikeRegexp('silencestoken') },
          Integration: {
            Type: 'AWS_PROXY',
            Uri: {
              'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [functionId(result, 'http'), 'Arn'] }])],
            },
          },
        });
      }
      const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
      for (const method of ['GET', 'POST']) {
        expect(stage?.Properties.MethodSettings).toContainEqual(
          expect.objectContaining({
            HttpMethod: method,
            ResourcePath: '/~1silences~1{token}',
            ThrottlingRateLimit: SILENCE_THROTTLE.rateLimit,
            ThrottlingBurstLimit: SILENCE_THROTTLE.burstLimit,
          }),
        );
      }
    });

    it('binds the API key to a usage plan with a per-key throttle and a daily quota under Gmail’s limit', () => {
      template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
      template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
      template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        Quota: { Limit: 1500, Period: 'DAY' },
        Throttle: { RateLimit: API_KEY_THROTTLE.rateLimit, BurstLimit: API_KEY_THROTTLE.burstLimit },
        ApiStages: [Match.objectLike({ Stage: { Ref: Match.stringLikeRegexp('^ApiDeploymentStage') } })],
      });
      template.hasOutput('AlertsUrl', { Value: Match.anyValue() });
      template.hasOutput('GetApiKeyCommand', { Value: Match.anyValue() });
    });

    it('creates no account-wide API Gateway logging role, logs nothing at the stage, traces and throttles it', () => {
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
      const apiGatewayRoles = template.findResources('AWS::IAM::Role', {
        Properties: {
          AssumeRolePolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } }),
            ]),
          },
        },
      });
      expect(Object.keys(apiGatewayRoles)).toEqual([]);
      const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
      expect(stage?.Properties.AccessLogSetting).toBeUndefined();
      expect(stage?.Properties).toMatchObject({
        TracingEnabled: true,
        MethodSettings: expect.arrayContaining([
          {
            HttpMethod: '*',
            ResourcePath: '/*',
            LoggingLevel: 'OFF',
            DataTraceEnabled: false,
            MetricsEnabled: false,
            ThrottlingRateLimit: STAGE_THROTTLE.rateLimit,
            ThrottlingBurstLimit: STAGE_THROTTLE.burstLimit,
          },
        ]),
      });
    });

    it('lets only API Gateway invoke the http function, and only for its three routes', () => {
      const permissions = Object.values(
        template.findResources('AWS::Lambda::Permission', {
          Properties: { FunctionName: { 'Fn::GetAtt': [functionId(result, 'http'), 'Arn'] } },
        }),
      );
      expect(permissions.length).toBeGreaterThan(0);
      for (const permission of permissions) {
        expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
        expect(JSON.stringify(permission.Properties.SourceArn)).toMatch(
          /\/POST\/alerts"|\/(GET|POST)\/silences\/\*"/,
        );
      }
    });
  });

  describe('ops alarms', () => {
    const topicRef = { Ref: logicalId(result, stack.alarms.topic) };

    it('publish to a topic encrypted with a rotating customer managed key that CloudWatch may use', () => {
      template.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
          ]),
        },
      });
    });

    it('e-mail opsEmail, keeping undeliverable notifications in their own DLQ', () => {
      template.hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: OPS_EMAIL,
        TopicArn: topicRef,
        RedrivePolicy: {
          deadLetterTargetArn: {
            'Fn::GetAtt': [logicalId(result, stack.alarms.notificationDeadLetterQueue as never), 'Arn'],
          },
        },
      });
    });

    it('fire on any message in either dead-letter queue', () => {
      for (const queue of [stack.queue.deadLetterQueue, stack.alarms.notificationDeadLetterQueue]) {
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [
            { Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(result, queue as never), 'QueueName'] } },
          ],
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        });
      }
    });

    it('fire again on every new arrival in either dead-letter queue, counting redriven and sent messages', () => {
      for (const queue of [stack.queue.deadLetterQueue, stack.alarms.notificationDeadLetterQueue]) {
        const queueName = { 'Fn::GetAtt': [logicalId(result, queue as never), 'QueueName'] };
        const metric = (name: string) =>
          Match.objectLike({
            MetricStat: Match.objectLike({
              Metric: {
                Namespace: 'AWS/SQS',
                MetricName: name,
                Dimensions: [{ Name: 'QueueName', Value: queueName }],
              },
            }),
          });
        template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Metrics: Match.arrayWith([
            Match.objectLike({ Expression: Match.stringLikeRegexp('DIFF\\(depth\\)'), ReturnData: true }),
            metric('NumberOfMessagesSent'),
            metric('ApproximateNumberOfMessagesVisible'),
          ]),
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          OKActions: Match.absent(),
        });
      }
    });

    it('fire when an alert has waited in the queue for 15 minutes', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Threshold: 900,
      });
    });

    it('fire on any error or throttle of each function', () => {
      for (const name of FUNCTION_NAMES) {
        for (const metric of ['Errors', 'Throttles']) {
          template.hasResourceProperties('AWS::CloudWatch::Alarm', {
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(result, name) } }],
            Threshold: 0,
            ComparisonOperator: 'GreaterThanThreshold',
          });
        }
      }
    });

    it('fire when the quota guard counts 80 % of the daily limit, on the metric the functions emit', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: Match.stringLikeRegexp('/QuotaGuard80$'),
        Namespace: 'GmailAlerts',
        MetricName: 'GuardUsedPercent',
        Dimensions: [{ Name: 'service', Value: 'gmail-alerts' }],
        Statistic: 'Maximum',
        Threshold: 80,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'ignore',
        AlarmActions: [topicRef],
      });
    });

    it('all notify the topic on ALARM, and all but the new-arrival alarms on OK', () => {
      const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
      // Two per dead-letter queue, the oldest queued alert, state-store failures, the quota guard at
      // 80 %, two per function.
      expect(alarms).toHaveLength(2 * 2 + 1 + 1 + 1 + 2 * FUNCTION_NAMES.length);
      for (const alarm of alarms) {
        expect(alarm.Properties.AlarmActions).toEqual([topicRef]);
        const newArrivals = /NewDeadLetters$/.test(alarm.Properties.AlarmName);
        expect(alarm.Properties.OKActions).toEqual(newArrivals ? undefined : [topicRef]);
      }
    });
  });
});

describe('default network mode (no VPC)', () => {
  const result = inMode('none');

  it('creates no VPC, NAT gateway, security group or flow log', () => {
    for (const type of [
      'AWS::EC2::VPC',
      'AWS::EC2::NatGateway',
      'AWS::EC2::SecurityGroup',
      'AWS::EC2::FlowLog',
    ]) {
      result.template.resourceCountIs(type, 0);
    }
  });

  it('attaches no function to a VPC and grants none the network-interface actions', () => {
    for (const name of FUNCTION_NAMES) {
      expect(resourceOf(result, name).Properties.VpcConfig).toBeUndefined();
      expect(
        roleStatements(result, name)
          .flatMap(actionsOf)
          .filter((action) => action.startsWith('ec2:')),
      ).toEqual([]);
    }
  });
});

describe.each(['new', 'existing'] as const)('VPC mode %s', (mode) => {
  const result = inMode(mode);
  const { template } = result;

  it('gives the functions one security group whose egress is exactly TCP 587 and 443 to anywhere', () => {
    template.resourceCountIs('AWS::EC2::SecurityGroup', 1);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { SecurityGroupEgress: smtpAndHttpsOnly(587) });
    const [group] = Object.values(template.findResources('AWS::EC2::SecurityGroup'));
    expect(group?.Properties.SecurityGroupIngress).toBeUndefined();
    template.resourceCountIs('AWS::EC2::SecurityGroupEgress', 0);
    template.resourceCountIs('AWS::EC2::SecurityGroupIngress', 0);
  });

  it('places every function in the private subnets with that security group', () => {
    const [groupId] = Object.keys(template.findResources('AWS::EC2::SecurityGroup'));
    const privateSubnets =
      mode === 'new'
        ? Object.keys(
            template.findResources('AWS::EC2::Subnet', {
              Properties: { Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Private' }]) },
            }),
          ).map((id) => ({ Ref: id }))
        : [...EXISTING_VPC.privateSubnetIds];
    expect(privateSubnets).toHaveLength(2);
    for (const name of FUNCTION_NAMES) {
      expect(resourceOf(result, name).Properties.VpcConfig).toEqual({
        SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }],
        SubnetIds: privateSubnets,
      });
    }
  });

  it('grants the network-interface actions Lambda needs to attach the functions', () => {
    for (const name of FUNCTION_NAMES) {
      expect(roleStatements(result, name).flatMap(actionsOf)).toEqual(
        expect.arrayContaining(['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface']),
      );
    }
  });

  it('logs all VPC traffic to CloudWatch Logs', () => {
    template.resourceCountIs('AWS::EC2::FlowLog', 1);
    template.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      ResourceId: mode === 'new' ? { Ref: Match.stringLikeRegexp('^NetworkVpc') } : EXISTING_VPC.vpcId,
    });
  });
});

describe('vpc=new', () => {
  const { template } = inMode('new');

  it('routes both private subnets to the internet through one NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::NatGateway', 1);
    const natRoutes = template.findResources('AWS::EC2::Route', {
      Properties: { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: Match.anyValue() },
    });
    expect(Object.keys(natRoutes)).toHaveLength(2);
  });

  it('gives no public IP to anything launched in its public subnets', () => {
    template.hasResourceProperties('AWS::EC2::Subnet', {
      MapPublicIpOnLaunch: false,
      Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Public' }]),
    });
  });
});

describe('vpc=<id> from context', () => {
  const { template } = inMode('existing');

  it('uses the existing VPC and subnets without creating a VPC or NAT gateway', () => {
    template.resourceCountIs('AWS::EC2::VPC', 0);
    template.resourceCountIs('AWS::EC2::Subnet', 0);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::EC2::SecurityGroup', { VpcId: EXISTING_VPC.vpcId });
  });
});

describe('the Gmail secret', () => {
  const result = inMode('none');
  const { template } = result;
  const secret = template.toJSON().Resources[logicalId(result, result.stack.gmailSecret.secret as never)];

  it('is created without a value, so no stack update can overwrite what secret:set stored', () => {
    // The other one is the generated signing secret.
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    expect(secret?.Properties.SecretString).toBeUndefined();
    expect(secret?.Properties.GenerateSecretString).toBeUndefined();
    template.hasOutput('GmailSecretArn', { Value: Match.anyValue() });
    template.hasOutput('DoctorFunctionName', { Value: Match.anyValue() });
  });

  it('is retained when the stack is deleted or the secret replaced', () => {
    expect(secret?.DeletionPolicy).toBe('Retain');
    expect(secret?.UpdateReplacePolicy).toBe('Retain');
  });
});
