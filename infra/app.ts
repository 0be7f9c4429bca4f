import { App } from 'aws-cdk-lib';
import { AlertingStack } from './alerting-stack.ts';
import { addComplianceChecks } from './compliance.ts';
import { ContextValueError, readAlertingConfig } from './config.ts';

export const STACK_NAME = 'GmailAlerts';

/**
 * Builds the app from its context: the one alerting stack, checked by cdk-nag. Environment-agnostic
 * on purpose, so `cdk synth` needs no credentials and does no look-ups.
 */
export function buildApp(app: App): AlertingStack {
  const config = readAlertingConfig(app.node);
  const stack = new AlertingStack(app, STACK_NAME, {
    config,
    functionsDir: config.functionsDir,
    description: 'Alert e-mail through Gmail SMTP from API Gateway, SQS and EventBridge',
  });
  addComplianceChecks(app);
  return stack;
}

if (import.meta.main) {
  const app = new App();
  try {
    buildApp(app);
  } catch (error) {
    // A wrong or missing context value is the user's to fix: the message, not a stack trace.
    if (!(error instanceof ContextValueError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  app.synth();
}
