import { isAbsolute, join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps, Token, Validations } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import {
  ContractValueError,
  contractEnvironment,
  ENVIRONMENT_VARIABLES,
} from '../functions/core/config-contract.ts';
import { type AlertingConfig, CONTEXT_DEFAULTS, ContextValueError } from './config.ts';
import { OpsAlarms } from './constructs/alarms.ts';
import { AlertApi } from './constructs/alert-api.ts';
import { AlertEvents } from './constructs/alert-events.ts';
import { AlertFunction, type FunctionPlacement } from './constructs/alert-function.ts';
import { AlertNetwork } from './constructs/alert-network.ts';
import { AlertQueue, MAX_RECEIVE_COUNT } from './constructs/alert-queue.ts';
import { AlertState } from './constructs/alert-state.ts';
import { GmailSecret } from './constructs/gmail-secret.ts';
import { SigningSecret } from './constructs/signing-secret.ts';

const PROJECT_ROOT = join(import.meta.dirname, '..');

/** Timeouts per function. http stays under API Gateway's 29 s; sqs sets the queue's visibility timeout. */
export const FUNCTION_TIMEOUTS = {
  http: Duration.seconds(25),
  sqs: Duration.seconds(60),
  eventbridge: Duration.seconds(30),
  doctor: Duration.seconds(30),
} as const;

export type FunctionName = keyof typeof FUNCTION_TIMEOUTS;

export interface AlertingStackProps extends StackProps {
  readonly config: AlertingConfig;
  /** The build output with `<name>/index.mjs` per function; relative paths are from the project root. */
  readonly functionsDir?: string;
}

/** Alert e-mail through Gmail from API Gateway, SQS and EventBridge, watched by its own alarms. */
export class AlertingStack extends Stack {
  readonly functions: Record<FunctionName, AlertFunction>;
  readonly queue: AlertQueue;
  readonly state: AlertState;
  readonly api: AlertApi;
  readonly network: AlertNetwork | undefined;
  readonly gmailSecret: GmailSecret;
  readonly signingSecret: SigningSecret;
  readonly alarms: OpsAlarms;

  constructor(scope: Construct, id: string, props: AlertingStackProps) {
    super(scope, id, props);
    const { config } = props;
    const functionsDir = props.functionsDir ?? CONTEXT_DEFAULTS.functionsDir;

    this.gmailSecret = new GmailSecret(this, 'Gmail', {
      secretArn: config.secretArn,
      kmsKeyArn: config.secretKmsKeyArn,
    });
    this.signingSecret = new SigningSecret(this, 'Signing');
    this.queue = new AlertQueue(this, 'Alerts', { consumerTimeout: FUNCTION_TIMEOUTS.sqs });
    this.state = new AlertState(this, 'State');
    this.network =
      config.network.kind === 'none'
        ? undefined
        : new AlertNetwork(this, 'Network', { mode: config.network, smtpPort: config.smtpPort });

    const environment = functionEnvironment(config, {
      secretId: this.gmailSecret.secret.secretArn,
      queueUrl: this.queue.queue.queueUrl,
      deadLetterQueueUrl: this.queue.deadLetterQueue.queueUrl,
      stackName: this.stackName,
      stateTable: this.state.table.tableName,
      signingSecretId: this.signingSecret.secret.secretArn,
    });
    const placement: FunctionPlacement | undefined = this.network?.placement;
    const alertFunction = (name: FunctionName, description: string) =>
      new AlertFunction(this, `${name[0]?.toUpperCase()}${name.slice(1)}`, {
        name,
        functionsDir: isAbsolute(functionsDir) ? functionsDir : join(PROJECT_ROOT, functionsDir),
        description,
        timeout: FUNCTION_TIMEOUTS[name],
        environment,
        ...(placement && { placement }),
      });
    this.functions = {
      http: alertFunction('http', 'POST /alerts: sends the alert, or queues it when Gmail is unavailable'),
      sqs: alertFunction('sqs', 'Sends queued alerts; reports failures per message'),
      eventbridge: alertFunction('eventbridge', 'Turns EventBridge events into alert e-mails'),
      doctor: alertFunction(
        'doctor',
        'Egress self-check: reaches the SMTP server and the secret from where the functions run',
      ),
    };

    for (const fn of Object.values(this.functions)) this.gmailSecret.grantRead(fn.function);
    // http queues alerts when Gmail is briefly unavailable; all three hold quota-blocked alerts on the
    // queue and park what can never be delivered in the dead-letter queue.
    for (const name of ['http', 'sqs', 'eventbridge'] as const) {
      this.queue.queue.grantSendMessages(this.functions[name].function);
      this.queue.deadLetterQueue.grantSendMessages(this.functions[name].function);
      // Idempotency records, repeat counts, silences, the quota count and digests.
      this.state.grantItemAccess(this.functions[name].function);
      // The functions that render mails sign their silence links; http also checks them.
      this.signingSecret.grantRead(this.functions[name].function);
    }
    // The doctor sends no alerts: it only reads the quota guard's count, to report it.
    this.state.grantQuotaRead(this.functions.doctor.function);
    this.queue.addConsumer(this.functions.sqs.function, config.maxConcurrency);

    // http, sqs and doctor are only ever invoked synchronously (API Gateway, the SQS poller, a direct
    // RequestResponse call); a DeadLetterConfig applies to asynchronous invocations alone.
    for (const name of ['http', 'sqs', 'doctor'] as const) {
      Validations.of(this.functions[name].function).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: `The ${name} function is invoked synchronously only, where a Lambda dead-letter queue never receives anything; its failures surface to the caller or through the alerts queue redrive policy.`,
      });
    }

    this.api = new AlertApi(this, 'Api', {
      handler: this.functions.http.function,
      auth: config.apiAuth,
      dailyQuota: config.dailyQuota,
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      detailedMetrics: config.apiDetailedMetrics,
    });
    // The links in the mails point at the API. Its URL is built from the API's id, not read from the
    // stage: the stage depends on the methods, which depend on the http function, whose environment
    // would then depend on the stage (a cycle).
    for (const name of ['http', 'sqs', 'eventbridge'] as const) {
      this.functions[name].function.addEnvironment(
        ENVIRONMENT_VARIABLES.silenceBaseUrl,
        this.api.baseUrlWithoutStageDependency,
      );
    }
    // Stack names are letters, digits and hyphens, so no other stack's alarm names start with this.
    const ownAlarmPrefix = `${this.stackName}/`;
    new AlertEvents(this, 'Events', {
      handler: this.functions.eventbridge.function,
      deadLetterQueue: this.queue.deadLetterQueue,
      rules: config.eventRules,
      sources: config.eventSources,
      ownAlarmPrefix,
      alarmNamePrefix: config.alarmNamePrefix,
    });
    this.alarms = new OpsAlarms(this, 'Ops', {
      alarmNamePrefix: ownAlarmPrefix,
      opsEmail: config.opsEmail,
      deadLetterQueues: { Alerts: this.queue.deadLetterQueue },
      alertsQueue: this.queue.queue,
      functions: Object.fromEntries(Object.entries(this.functions).map(([name, fn]) => [name, fn.function])),
      stateStoreLogGroups: (['http', 'sqs', 'eventbridge'] as const).map(
        (name) => this.functions[name].logGroup,
      ),
      // The state table and the alerts queue are always deployed, so the functions run the guard.
      quotaGuard: true,
    });

    this.outputs(config);
  }

  private outputs(config: AlertingConfig): void {
    new CfnOutput(this, 'AlertsUrl', { value: this.api.alertsUrl, description: 'POST alerts here' });
    if (this.api.apiKey) {
      new CfnOutput(this, 'ApiKeyId', { value: this.api.apiKey.keyId });
      new CfnOutput(this, 'GetApiKeyCommand', {
        value: `aws apigateway get-api-key --api-key ${this.api.apiKey.keyId} --include-value --query value --output text`,
        description: 'Prints the API key to send as the x-api-key header',
      });
    } else {
      new CfnOutput(this, 'ApiAuth', { value: 'IAM: sign requests with SigV4 (service execute-api)' });
    }
    new CfnOutput(this, 'GmailSecretArn', {
      value: this.gmailSecret.secret.secretArn,
      description: this.gmailSecret.created
        ? 'Put {"username":…,"password":…} here (npm run secret:set, or aws secretsmanager put-secret-value)'
        : 'The existing secret the functions read',
    });
    new CfnOutput(this, 'SigningSecretArn', {
      value: this.signingSecret.secret.secretArn,
      description:
        'Signs the silence links; put a new {"key"} here to rotate (links of the previous key stay valid)',
    });
    new CfnOutput(this, 'SilenceLinksBaseUrl', {
      value: this.api.baseUrlWithoutStageDependency,
      description: 'The silence links in the mails point at <this>/silences/<token>',
    });
    new CfnOutput(this, 'AlertsQueueUrl', { value: this.queue.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queue.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'OpsTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'DoctorFunctionName', { value: this.functions.doctor.function.functionName });
    new CfnOutput(this, 'EventSources', {
      value: config.eventSources.length > 0 ? config.eventSources.join(',') : '(none)',
      description: 'PutEvents with one of these Source values to send an alert',
    });
  }
}

/**
 * The functions' environment: the configuration contract filled from the stack's settings and
 * resources, checked with the functions' own rules, plus the one Node.js runtime flag.
 */
export function functionEnvironment(
  config: AlertingConfig,
  resources: {
    secretId: string;
    queueUrl: string;
    deadLetterQueueUrl: string;
    stackName: string;
    stateTable: string;
    signingSecretId: string;
  },
): Record<string, string> {
  try {
    return contractEnvironment(
      {
        ...resources,
        smtpHost: config.smtpHost,
        smtpPort: config.smtpPort,
        // Written only when turned off, so the default deployment's functions read the contract's default.
        smtpPipelineAuth: config.smtpPipelineAuth ? undefined : false,
        secretCacheSeconds: config.secretCacheSeconds,
        repeatSeconds: config.repeatSeconds,
        gmailDailyLimit: config.gmailDailyLimit,
        alertFrom: config.alertFrom,
        alertTo: config.alertTo,
        allowedRecipients: config.allowedRecipients.length > 0 ? config.allowedRecipients : undefined,
        // On the queue's last receive a failure is parked with its reason instead of moved without one.
        maxReceives: MAX_RECEIVE_COUNT,
        logLevel: config.logLevel,
        alertHeaders: config.alertHeaders,
      },
      { isDeployTimeValue: (value) => Token.isUnresolved(value) },
    );
  } catch (error) {
    // The stack's settings carry the contract's names, so the context key is the setting's name.
    if (error instanceof ContractValueError) {
      throw new ContextValueError(error.setting, `is not valid for ${error.variable}: ${error.problem}`, {
        cause: error,
      });
    }
    throw error;
  }
}
