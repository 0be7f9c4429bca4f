import { httpAlertEvent, sqsAlertEvent } from './events.ts';
import { LambdaProcess, lambdaEnv } from './lambda-process.ts';
import { type BenchPeers, countersSince, type PeerCounters } from './peers.ts';
import type { ResultReport } from './protocol.ts';
import { median, round } from './stats.ts';

/** One measured scenario: medians over its runs, counts per run. */
export interface ScenarioResult {
  id: string;
  title: string;
  /** `ours` (the built bundles) or `tutorial` (the baseline in bench/tutorial.ts). */
  subject: 'ours' | 'tutorial';
  function: string;
  alertsPerRun: number;
  runs: number;
  /** Median wall time of one run, in ms. */
  wallMs: number;
  /**
   * Median time from the start of the invocation to the last byte of its last message at the server:
   * when the alert is in Gmail's hands, before the function's own work after the send. Runs of one
   * invocation only.
   */
  mailMs?: number;
  /** `wallMs` in round trips of the proxied path. */
  rtts: number;
  samplesMs: number[];
  /** Median CPU time of the function process during one run. */
  cpuMs: number;
  /** Median init (import) time, for scenarios that start a fresh process. */
  initMs?: number;
  /** Per run (averaged over the runs): what the Gmail-like server and Secrets Manager saw. */
  perRun: PeerCounters;
  /** Highest "Max Memory Used" (peak RSS of the process) seen in the scenario, in MB. */
  peakRssMb: number;
}

export interface ScenarioSpec {
  id: string;
  title: string;
  subject: ScenarioResult['subject'];
  function: string;
  alertsPerRun: number;
}

interface RunSample {
  report: ResultReport;
  /** For a run made of several invocations: their summed wall time. */
  wallMs?: number;
  cpuMs?: number;
  initMs?: number;
}

/** Where a scenario's code comes from and how its process is started. */
export interface Subject {
  workerFile: string;
  bundleFile: string;
  env: Record<string, string>;
}

/**
 * Runs `once` `runs` times and checks that every alert arrived at the Gmail-like server: a benchmark
 * of sends that failed would time the failure path.
 */
export async function measure(
  peers: BenchPeers,
  spec: ScenarioSpec,
  runs: number,
  once: () => Promise<RunSample>,
): Promise<ScenarioResult> {
  const [result] = await measureSideBySide(peers, [{ spec, once }], runs);
  return result as ScenarioResult;
}

/**
 * Runs several scenarios round-robin: the first run of each, then the second of each, and so on, so
 * that a change in the machine's load meets all of them alike and their ratios stay fair. What the
 * peers counted is kept per scenario, run by run.
 */
export async function measureSideBySide(
  peers: BenchPeers,
  scenarios: { spec: ScenarioSpec; once: () => Promise<RunSample> }[],
  runs: number,
): Promise<ScenarioResult[]> {
  const samples = scenarios.map((): RunSample[] => []);
  const mails = scenarios.map((): number[] => []);
  const totals = scenarios.map((): PeerCounters | undefined => undefined);
  for (let run = 0; run < runs; run += 1) {
    for (const [index, { spec, once }] of scenarios.entries()) {
      const before = peers.counters();
      const sample = await once();
      if (!sample.report.ok) throw new Error(`${spec.id}: run ${run + 1} failed: ${sample.report.detail}`);
      samples[index]?.push(sample);
      if (sample.wallMs === undefined) mails[index]?.push(peers.lastMessageAt() - sample.report.startedAt);
      const counted = countersSince(before, peers.counters());
      const total = totals[index];
      totals[index] = total ? addCounters(total, counted) : counted;
    }
  }
  return scenarios.map(({ spec }, index) => {
    const result = summarize(peers, spec, runs, samples[index] ?? [], totals[index] as PeerCounters);
    const mailMs = mails[index] ?? [];
    return mailMs.length === runs ? { ...result, mailMs: round(median(mailMs)) } : result;
  });
}

function addCounters(a: PeerCounters, b: PeerCounters): PeerCounters {
  return Object.fromEntries(
    Object.entries(a).map(([key, value]) => [key, value + b[key as keyof PeerCounters]]),
  ) as unknown as PeerCounters;
}

function summarize(
  peers: BenchPeers,
  spec: ScenarioSpec,
  runs: number,
  samples: RunSample[],
  total: PeerCounters,
): ScenarioResult {
  if (total.messages !== spec.alertsPerRun * runs) {
    throw new Error(
      `${spec.id}: the server accepted ${total.messages} of ${spec.alertsPerRun * runs} messages`,
    );
  }
  const walls = samples.map((sample) => sample.wallMs ?? sample.report.wallMs);
  const inits = samples.flatMap((sample) => (sample.initMs === undefined ? [] : [sample.initMs]));
  const wallMs = median(walls);
  const perRun = Object.fromEntries(
    Object.entries(total).map(([key, value]) => [key, round(value / runs, 2)]),
  ) as unknown as PeerCounters;
  return {
    ...spec,
    runs,
    wallMs: round(wallMs),
    rtts: round(wallMs / peers.rttMs, 2),
    samplesMs: walls.map((value) => round(value)),
    cpuMs: round(median(samples.map((sample) => sample.cpuMs ?? sample.report.cpuMs))),
    ...(inits.length > 0 ? { initMs: round(median(inits)) } : {}),
    perRun,
    peakRssMb: round(Math.max(...samples.map((sample) => sample.report.maxRssMb))),
  };
}

/** Starts a fresh function process (a cold start) for `subject`. */
export function coldStart(subject: Subject, functionName: string): Promise<LambdaProcess> {
  return LambdaProcess.start(subject.workerFile, subject.bundleFile, lambdaEnv(functionName, subject.env));
}

/** A fresh process per run; the run is its first invocation (init is reported separately). */
export function coldRun(subject: Subject, functionName: string, event: () => unknown) {
  return async (): Promise<RunSample> => {
    const lambda = await coldStart(subject, functionName);
    try {
      const report = await lambda.invoke(event());
      return { report, initMs: lambda.ready.importMs };
    } finally {
      await lambda.close();
    }
  };
}

/** One invocation of an already warm process. */
export function warmRun(lambda: LambdaProcess, event: () => unknown) {
  return async (): Promise<RunSample> => ({ report: await lambda.invoke(event()) });
}

/** `batches` invocations back to back in one warm process, timed together. */
export function burstRun(lambda: LambdaProcess, batches: number, batchSize: number) {
  return async (): Promise<RunSample> => {
    let wallMs = 0;
    let cpuMs = 0;
    let last: ResultReport | undefined;
    for (let batch = 0; batch < batches; batch += 1) {
      const report = await lambda.invoke(sqsAlertEvent(batchSize));
      if (!report.ok) return { report };
      wallMs += report.wallMs;
      cpuMs += report.cpuMs;
      last = report;
    }
    if (!last) throw new Error('a burst needs at least one batch');
    return { report: last, wallMs, cpuMs };
  };
}

export const events = {
  sqs: (count: number) => () => sqsAlertEvent(count),
  http: () => httpAlertEvent(),
};
