// Builds the real app (cdk.json's feature flags, cdk-nag included) from a context and returns its
// template. Stub bundles stand in for dist/functions: the template does not depend on the code.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import type { AlertingStack, FunctionName } from '../../infra/alerting-stack.ts';
import { buildApp } from '../../infra/app.ts';

export const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
export const FIXTURE_FUNCTIONS_DIR = join(import.meta.dirname, 'fixtures', 'functions');
export const FUNCTION_NAMES: FunctionName[] = ['http', 'sqs', 'eventbridge', 'doctor'];

export const CDK_JSON = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
  app: string;
  context: Record<string, unknown>;
};

/** Every synth needs recipients; tests that are about their absence pass `alertTo: ''`. */
export const ALERT_TO = 'oncall@example.com';

export const EXISTING_VPC = {
  vpcId: 'vpc-0123456789abcdef0',
  privateSubnetIds: ['subnet-0aaaaaaaaaaaaaaa1', 'subnet-0bbbbbbbbbbbbbbb2'],
  availabilityZones: ['us-east-1a', 'us-east-1b'],
} as const;

/** The three network modes, as a user would pass them with `-c`. */
export const NETWORK_MODES: Record<'none' | 'new' | 'existing', Record<string, string>> = {
  none: {},
  new: { vpc: 'new' },
  existing: {
    vpc: EXISTING_VPC.vpcId,
    privateSubnetIds: EXISTING_VPC.privateSubnetIds.join(','),
    availabilityZones: EXISTING_VPC.availabilityZones.join(','),
  },
};

export interface SynthesizedApp {
  readonly app: App;
  readonly stack: AlertingStack;
  readonly template: Template;
}

const cache = new Map<string, SynthesizedApp>();

/** The app as `cdk synth` builds it, with `context` on top of cdk.json's, {@link ALERT_TO} and the stub bundles. */
export function createApp(context: Record<string, unknown> = {}): { app: App; stack: AlertingStack } {
  const app = new App({
    context: { ...CDK_JSON.context, functionsDir: FIXTURE_FUNCTIONS_DIR, alertTo: ALERT_TO, ...context },
  });
  return { app, stack: buildApp(app) };
}

/** Synthesizes the app once per distinct context in this test file. Throws on cdk-nag findings. */
export function synth(context: Record<string, unknown> = {}): SynthesizedApp {
  const key = JSON.stringify(context);
  const cached = cache.get(key);
  if (cached) return cached;
  const { app, stack } = createApp(context);
  const result = { app, stack, template: Template.fromStack(stack) };
  cache.set(key, result);
  return result;
}

/** The template's logical id of an L2 construct's main resource. */
export function logicalId(result: SynthesizedApp, construct: IConstruct): string {
  return result.stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

export function functionId(result: SynthesizedApp, name: FunctionName): string {
  return logicalId(result, result.stack.functions[name].function);
}

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every IAM statement attached to the execution role of `name`. */
export function roleStatements(result: SynthesizedApp, name: FunctionName): Statement[] {
  const roleId = logicalId(result, result.stack.functions[name].role);
  const policies = result.template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

export const actionsOf = (statement: Statement): string[] =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];
