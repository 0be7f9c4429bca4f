import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * Memory for every function, in MB. `npm run bench` measures a peak RSS of about 92 MB for a burst of
 * 100 alerts, so 128 MB would fit; 256 MB is chosen because Lambda gives CPU in proportion to memory and
 * the cold path (about 130 ms of import, 70 ms of first-send CPU, TLS handshakes) is CPU-bound, while
 * Gmail's 2,000 alerts a day keep the cost difference to cents.
 */
export const FUNCTION_MEMORY_MB = 256;

/** The Lambda defaults shared by every function of the stack. */
export const FUNCTION_DEFAULTS = {
  runtime: Runtime.NODEJS_24_X,
  architecture: Architecture.ARM_64,
  memorySize: FUNCTION_MEMORY_MB,
  handler: 'index.handler',
  tracing: Tracing.ACTIVE,
  logRetention: RetentionDays.ONE_MONTH,
} as const;

/** Where a function's ENIs live and which security group they carry, in VPC mode. */
export interface FunctionPlacement {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
}

export interface AlertFunctionProps {
  /** The folder name under `functionsDir`: `http`, `sqs`, `eventbridge`, `doctor`. */
  readonly name: string;
  /** The build output holding `<name>/index.mjs` (and its source map). */
  readonly functionsDir: string;
  readonly description: string;
  readonly timeout: Duration;
  /** The functions' configuration contract, from `contractEnvironment`. */
  readonly environment: Record<string, string>;
  readonly placement?: FunctionPlacement;
}

/**
 * One Lambda function running a prebuilt bundle from `dist/functions/<name>/`, with the stack's
 * defaults: Node.js 24 on arm64, explicit memory and timeout, its own log group with retention,
 * active tracing, source maps, and a role that starts with nothing but writing its own logs.
 */
export class AlertFunction extends Construct {
  readonly function: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: AlertFunctionProps) {
    super(scope, id);
    const bundleDir = join(props.functionsDir, props.name);
    if (!existsSync(join(bundleDir, 'index.mjs'))) {
      throw new Error(
        `${join(bundleDir, 'index.mjs')} does not exist: run \`npm run build\` before synthesizing`,
      );
    }

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: FUNCTION_DEFAULTS.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // An explicit role instead of the AWSLambdaBasicExecutionRole managed policy, which may create
    // and write any log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${props.name} alert function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new LambdaFunction(this, 'Function', {
      description: props.description,
      runtime: FUNCTION_DEFAULTS.runtime,
      architecture: FUNCTION_DEFAULTS.architecture,
      memorySize: FUNCTION_DEFAULTS.memorySize,
      timeout: props.timeout,
      // The exact bytes `npm run build` wrote, not a second bundling.
      code: Code.fromAsset(bundleDir),
      handler: FUNCTION_DEFAULTS.handler,
      role: this.role,
      logGroup: this.logGroup,
      tracing: FUNCTION_DEFAULTS.tracing,
      // Stack traces point into the TypeScript sources through the bundle's source map.
      environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
      ...(props.placement && {
        vpc: props.placement.vpc,
        vpcSubnets: props.placement.subnets,
        securityGroups: [props.placement.securityGroup],
      }),
    });

    if (props.placement) {
      // What AWSLambdaVPCAccessExecutionRole grants minus its logs:* on every log group.
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      );
    }

    // On this construct rather than the role: with some feature flags CDK puts the X-Ray statement
    // in a policy under the function. The stack tests pin the only "*" statements to these actions.
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: props.placement
        ? 'Resource "*" is required by X-Ray PutTraceSegments/PutTelemetryRecords (active tracing) and by the EC2 network-interface actions Lambda uses to place the function in the VPC; neither supports resource-level permissions.'
        : 'Resource "*" is required by X-Ray PutTraceSegments/PutTelemetryRecords (active tracing), which do not support resource-level permissions.',
    });
  }
}
