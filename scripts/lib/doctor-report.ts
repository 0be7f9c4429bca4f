// Prints a diagnosis the same way whether it ran here or in the deployed doctor function.
import type { DiagnosisReport, DiagnosisStep } from '../../functions/doctor/diagnose.ts';
import { bold, dim, formatDuration, mark } from './cli.ts';

const TITLE_WIDTH = 20;

/** One step as lines: `✓ TLS mode   42 ms  detail`, and on ✗ a `cause:` and a `fix:` line. */
export function formatStep(step: DiagnosisStep, stream: NodeJS.WriteStream = process.stdout): string {
  const symbol =
    step.status === 'pass' ? mark.ok(stream) : step.status === 'fail' ? mark.fail(stream) : mark.skip(stream);
  const time = step.status === 'skip' ? '' : formatDuration(step.durationMs);
  const head = `${symbol} ${step.title.padEnd(TITLE_WIDTH)} ${time.padStart(7)}`;
  if (step.status === 'fail') {
    return [head, `    cause: ${step.cause ?? 'unknown'}`, `    fix:   ${step.fix ?? 'see the cause'}`].join(
      '\n',
    );
  }
  return `${head}  ${step.status === 'skip' ? dim(`skipped: ${step.detail ?? ''}`, stream) : (step.detail ?? '')}`;
}

/** The closing line: all passed, or where it stopped. */
export function formatVerdict(report: DiagnosisReport, stream: NodeJS.WriteStream = process.stdout): string {
  if (report.ok) return bold(`All checks passed in ${formatDuration(report.durationMs)}.`, stream);
  const failed = report.steps.find((step) => step.status === 'fail');
  return bold(
    `Stopped at "${failed?.title ?? '?'}" after ${formatDuration(report.durationMs)}: fix that and run the doctor again.`,
    stream,
  );
}

/** A whole report, for a report that arrives in one piece (the deployed function). */
export function formatReport(report: DiagnosisReport, stream: NodeJS.WriteStream = process.stdout): string {
  return [...report.steps.map((step) => formatStep(step, stream)), '', formatVerdict(report, stream)].join(
    '\n',
  );
}
