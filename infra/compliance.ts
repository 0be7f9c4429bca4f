import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';

/**
 * Runs the cdk-nag AwsSolutions and Serverless packs on every synth. CDK's policy validation fails
 * the synth on any unacknowledged finding, warning or error: `cdk synth` exits non-zero and an
 * in-process `app.synth()` throws the report. Acknowledge a finding on the construct it concerns,
 * with `Validations.of(construct).acknowledge({ id, reason })`.
 */
export function addComplianceChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true }),
    new ServerlessChecks(app, { verbose: true }),
  );
}
