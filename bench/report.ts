import type { ScenarioResult } from './scenarios.ts';

/** One function bundle: size and what importing it costs in a fresh process. */
export interface BundleResult {
  function: string;
  bytes: number;
  samples: number;
  /** Median `await import(bundle)` in a fresh process: Lambda's init phase for this code. */
  importMs: number;
  importCpuMs: number;
  /** Median wall time of the whole process (spawn → import → exit). */
  processMs: number;
  /** Median wall time of `node -e 0` in the same run. */
  bareNodeMs: number;
  rssAfterImportMb: number;
}

/** Ours against the tutorial baseline. */
export interface Comparison {
  scenario: string;
  baseline: string;
  ratio: number;
}

export interface Check {
  name: string;
  limit: string;
  measured: string;
  ok: boolean;
}

/** A GitHub-flavoured Markdown table; also readable as plain text. */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((row) => row.map(String))];
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header), rule, ...cells.slice(1).map(line)].join('\n');
}

const count = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(1));

export function scenarioTable(scenarios: ScenarioResult[], comparisons: Comparison[]): string {
  return markdownTable(
    [
      'scenario',
      'alerts',
      'runs',
      'init ms',
      'wall ms',
      'mail ms',
      'RTTs',
      'CPU ms',
      'TCP',
      'TLS',
      'AUTH',
      'SMTP RTs',
      'secret',
      'DDB req',
      'DDB rounds',
      'peak RSS MB',
      'vs tutorial',
    ],
    scenarios.map((scenario) => {
      const comparison = comparisons.find((entry) => entry.scenario === scenario.id);
      return [
        scenario.title,
        scenario.alertsPerRun,
        scenario.runs,
        scenario.initMs ?? '',
        scenario.wallMs,
        scenario.mailMs ?? '',
        scenario.rtts.toFixed(1),
        scenario.cpuMs,
        count(scenario.perRun.connections),
        count(scenario.perRun.tlsHandshakes),
        count(scenario.perRun.authAttempts),
        count(scenario.perRun.smtpRoundTrips),
        count(scenario.perRun.secretFetches),
        count(scenario.perRun.stateRequests),
        count(scenario.perRun.stateRounds),
        scenario.peakRssMb,
        comparison ? `${comparison.ratio.toFixed(2)}×` : '',
      ];
    }),
  );
}

export function bundleTable(bundles: BundleResult[]): string {
  return markdownTable(
    [
      'function',
      'bundle KB',
      'import ms',
      'import CPU ms',
      'process ms',
      'node -e 0 ms',
      'RSS after import MB',
    ],
    bundles.map((bundle) => [
      bundle.function,
      (bundle.bytes / 1024).toFixed(0),
      bundle.importMs,
      bundle.importCpuMs,
      bundle.processMs,
      bundle.bareNodeMs,
      bundle.rssAfterImportMb,
    ]),
  );
}

export function checkTable(checks: Check[]): string {
  return markdownTable(
    ['check', 'limit', 'measured', ''],
    checks.map((check) => [check.name, check.limit, check.measured, check.ok ? 'ok' : 'MISSED']),
  );
}
