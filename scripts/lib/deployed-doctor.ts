// Invokes the doctor function of the deployed stack, so egress is checked from where alerts leave.
import type { DiagnosisReport } from '../../functions/doctor/diagnose.ts';
import type { DoctorEvent } from '../../functions/doctor/handler.ts';
import { CommandFailedError } from './cli.ts';

/**
 * Runs the deployed `doctor` function (synchronous Invoke) and returns its report. AWS credentials and
 * region come from the usual places (AWS_PROFILE, AWS_REGION, …).
 */
export async function invokeDeployedDoctor(
  functionName: string,
  event: DoctorEvent,
): Promise<DiagnosisReport> {
  // Loaded only for --deployed: every other command works without touching the Lambda API.
  const { LambdaClient, InvokeCommand } = await import('@aws-sdk/client-lambda');
  const client = new LambdaClient({ maxAttempts: 2 });
  try {
    let output: { Payload?: Uint8Array | undefined; FunctionError?: string | undefined };
    try {
      output = (await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      )) as typeof output;
    } catch (error) {
      const name = (error as Error).name;
      throw new CommandFailedError(
        `Could not invoke ${functionName} (${name}): ${(error as Error).message}. Check AWS credentials, AWS_REGION and the name (stack output DoctorFunctionName).`,
      );
    }
    const text = new TextDecoder().decode(output.Payload ?? new Uint8Array());
    if (output.FunctionError) {
      const failure = JSON.parse(text || '{}') as { errorType?: string; errorMessage?: string };
      throw new CommandFailedError(
        `The doctor function failed (${output.FunctionError}): ${failure.errorType ?? 'Error'}: ${failure.errorMessage ?? text}`,
      );
    }
    return JSON.parse(text) as DiagnosisReport;
  } finally {
    client.destroy();
  }
}
