// Prints a diagnosis the same way whether it ran here or in the deployed doctor function.
import type { DiagnosisReport, DiagnosisStep } from '../../functions/doctor/diagnose.ts';
import { bold, dim, formatDuration, mark } from './cli.ts';

const TITLE_WIDTH = 20;

const MARKS: Record<DiagnosisStep['status'], (stream: NodeJS.WriteStream) => string> = {
  pass: mark.ok,
  warn: mark.warn,
  fail: mark.fail,
  skip: mark.skip,
};

/**
 * One step as lines: `✓ TLS mode   42 ms  detail`; on ✗ a `cause:` and a `fix:` line, on `!` the
 * detail and a `fix:` line.
 */
export function formatStep(step: DiagnosisStep, stream: NodeJS.WriteStream = process.stdout): string {
  const time = step.status === 'skip' ? '' : formatDuration(step.durationMs);
  const head = `${MARKS[step.status](stream)} ${step.title.padEnd(TITLE_WIDTH)} ${time.padStart(7)}`;
  if (step.status === 'fail') {
    return [head, `    cause: ${step.cause ?? 'unknown'}`, `    fix:   ${step.fix ?? 'see the cause'}`].join(
      '\n',
    );
  }
  if (step.status === 'warn')
    return [`${head}  ${step.detail ?? ''}`, `    fix:   ${step.fix ?? ''}`].join('\n');
  return `${head}  ${step.status === 'skip' ? dim(`skipped: ${step.detail ?? ''}`, stream) : (step.detail ?? '')}`;
}

/** The closing line: all passed, or where it stopped. */
export function formatVerdict(report: DiagnosisReport, stream: NodeJS.WriteStream = process.stdout): string {
  if (report.ok) {
    const warned = report.steps.filter((step) => step.status === 'warn').map((step) => `"${step.title}"`);
    const warnings = warned.length > 0 ? `, with a warning at ${warned.join(' and ')}` : '';
    return bold(`All checks passed in ${formatDuration(report.durationMs)}${warnings}.`, stream);
  }
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
