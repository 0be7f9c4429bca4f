import { Aws, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiKey,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  Period,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ApiAuth } from '../config.ts';

export const STAGE_NAME = 'v1';
/** Ceiling for the whole stage, whoever calls. */
export const STAGE_THROTTLE = { rateLimit: 10, burstLimit: 20 } as const;
/** Per silence-link method (GET and POST /silences/{token}), under the stage ceiling: people, not systems. */
export const SILENCE_THROTTLE = { rateLimit: 2, burstLimit: 5 } as const;
/** Per API key, under the stage ceiling. */
export const API_KEY_THROTTLE = { rateLimit: 5, burstLimit: 10 } as const;

export interface AlertApiProps {
  readonly handler: IFunction;
  readonly auth: ApiAuth;
  /** Requests a day per API key (apiKey mode): keep it under Gmail's sending limit. */
  readonly dailyQuota: number;
  /**
   * Creates the region's API Gateway logging role (`AWS::ApiGateway::Account`) and turns on access
   * and execution logs, which API Gateway can only write through that account-wide role.
   */
  readonly cloudWatchRole: boolean;
  /** Per-method metrics (Count, 4XX, 5XX, Latency, IntegrationLatency), billed as custom metrics. */
  readonly detailedMetrics: boolean;
}

const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    requestTime: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    caller: '$context.identity.caller',
    apiKeyId: '$context.identity.apiKeyId',
    httpMethod: '$context.httpMethod',
    resourcePath: '$context.resourcePath',
    status: '$context.status',
    responseLength: '$context.responseLength',
    errorType: '$context.error.responseType',
    error: '$context.error.message',
    integrationStatus: '$context.integration.status',
    integrationLatency: '$context.integration.latency',
  }),
);

/**
 * `POST /alerts` on a REST API. Every request authenticates at the gateway before Lambda sees it:
 * with an API key under a usage plan (per-key throttle and daily quota), or with SigV4 (IAM).
 * Anything else (other paths or methods, no or a wrong key, unsigned requests) gets a 403 from
 * API Gateway itself.
 */
export class AlertApi extends Construct {
  readonly api: RestApi;
  readonly method: Method;
  /** `GET` and `POST /silences/{token}`: the silence link's pages, without an API key. */
  readonly silenceMethods: Method[];
  /**
   * The API's URL with its stage, built from the API's id so that it does not depend on the stage
   * (whose deployment depends on the methods, and so on the function that is given this URL).
   */
  readonly baseUrlWithoutStageDependency: string;
  readonly apiKey: ApiKey | undefined;
  /** The full URL of `POST /alerts`. */
  readonly alertsUrl: string;

  constructor(scope: Construct, id: string, props: AlertApiProps) {
    super(scope, id);
    // `AWS::ApiGateway::Account` is one setting per region: creating it replaces the logging role of
    // every REST API there, and CDK retains the role on destroy. So it is an explicit opt-in, and the
    // stage logs nothing without it (API Gateway would refuse a stage with logging and no role).
    const logging = props.cloudWatchRole;
    const accessLogs = logging
      ? new LogGroup(this, 'AccessLogs', {
          retention: RetentionDays.ONE_MONTH,
          removalPolicy: RemovalPolicy.DESTROY,
        })
      : undefined;

    this.api = new RestApi(this, 'Api', {
      description: 'Accepts alerts and sends them as e-mail through Gmail',
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: logging,
      deployOptions: {
        stageName: STAGE_NAME,
        ...(accessLogs && {
          accessLogDestination: new LogGroupLogDestination(accessLogs),
          accessLogFormat: ACCESS_LOG_FORMAT,
        }),
        // Errors only: INFO and data tracing would copy alert bodies into the execution log.
        loggingLevel: logging ? MethodLoggingLevel.ERROR : MethodLoggingLevel.OFF,
        dataTraceEnabled: false,
        metricsEnabled: props.detailedMetrics,
        tracingEnabled: true,
        throttlingRateLimit: STAGE_THROTTLE.rateLimit,
        throttlingBurstLimit: STAGE_THROTTLE.burstLimit,
        methodOptions: {
          '/silences/{token}/GET': {
            throttlingRateLimit: SILENCE_THROTTLE.rateLimit,
            throttlingBurstLimit: SILENCE_THROTTLE.burstLimit,
          },
          '/silences/{token}/POST': {
            throttlingRateLimit: SILENCE_THROTTLE.rateLimit,
            throttlingBurstLimit: SILENCE_THROTTLE.burstLimit,
          },
        },
      },
    });

    if (logging) {
      // API Gateway creates the execution log group on first use, without retention; creating it
      // first, with the name API Gateway expects, keeps it bounded and removes it with the stack.
      const executionLogs = new LogGroup(this, 'ExecutionLogs', {
        logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${STAGE_NAME}`,
        retention: RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.api.deploymentStage.node.addDependency(executionLogs);
      Validations.of(this.api.node.findChild('CloudWatchRole')).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level role API Gateway assumes to write execution and access logs (opted in with apiGatewayCloudWatchRole=true); AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for it, and API Gateway needs it for log groups it names itself.',
      });
    } else {
      const reason =
        'API Gateway writes access and execution logs only through the account-wide logging role (AWS::ApiGateway::Account), which would replace the role of every REST API in the region; it is opt-in (apiGatewayCloudWatchRole=true). Requests stay traced with X-Ray and the http function logs every alert it handles.';
      Validations.of(this.api.deploymentStage).acknowledge(
        { id: 'AwsSolutions-APIG1', reason },
        { id: 'AwsSolutions-APIG6', reason },
        { id: 'Serverless-APIGWAccessLogging', reason },
      );
    }

    const alerts = this.api.root.addResource('alerts');
    this.method = alerts.addMethod(
      'POST',
      new LambdaIntegration(props.handler),
      props.auth === 'iam' ? { authorizationType: AuthorizationType.IAM } : { apiKeyRequired: true },
    );
    this.alertsUrl = this.api.urlForPath('/alerts');

    // The token in the path is the credential (signed, expiring, for one key); an API key or SigV4
    // cannot be asked of a person who taps a link in a mail.
    const silence = this.api.root.addResource('silences').addResource('{token}');
    const integration = new LambdaIntegration(props.handler);
    this.silenceMethods = (['GET', 'POST'] as const).map((httpMethod) =>
      silence.addMethod(httpMethod, integration, {
        apiKeyRequired: false,
        authorizationType: AuthorizationType.NONE,
      }),
    );
    for (const method of this.silenceMethods) {
      Validations.of(method).acknowledge(
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'The silence link is opened from a mail by a person, who has no API key or AWS credentials: the token in the path is the credential (HMAC-SHA256 over the key, the stack and an expiry of 7 days), checked by the function before anything is read or written; the method is throttled on its own under the stage.',
        },
        {
          id: 'AwsSolutions-COG4',
          reason:
            'The people who follow a silence link are mail recipients, not Cognito users; the signed token in the path authorises that one key, for 7 days.',
        },
      );
    }
    this.baseUrlWithoutStageDependency = Fn.join('', [
      'https://',
      this.api.restApiId,
      '.execute-api.',
      Aws.REGION,
      '.',
      Aws.URL_SUFFIX,
      `/${STAGE_NAME}`,
    ]);

    if (props.auth === 'apiKey') {
      this.apiKey = new ApiKey(this, 'ApiKey', {
        description: `Webhook key for POST /alerts (${Stack.of(this).stackName})`,
      });
      const plan = this.api.addUsagePlan('UsagePlan', {
        description: 'Per-key throttle, and a daily quota under the Gmail sending limit',
        throttle: { ...API_KEY_THROTTLE },
        quota: { limit: props.dailyQuota, period: Period.DAY },
      });
      plan.addApiStage({ stage: this.api.deploymentStage });
      plan.addApiKey(this.apiKey);
      Validations.of(this.method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'The method requires an API key (apiKeyRequired) bound to a usage plan, the webhook-style authentication this product offers by default; context apiAuth=iam switches to SigV4.',
      });
    }
    Validations.of(this.method).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are services and webhooks, not Cognito users: they authenticate with an API key or SigV4 (context apiAuth).',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'The http function validates the body with the same schema every trigger uses and answers 400 with field-level errors; a weaker JSON-schema copy at the gateway would drift from it.',
    });
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'Requests are authenticated at the gateway and throttled per stage and per key with a daily quota; a WAF web ACL (from $5 a month) adds no protection an alerting endpoint needs.',
    });
  }
}
