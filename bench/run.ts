// `npm run bench`: latency, connections, memory and cold start of the built functions against the
// loopback Gmail-like server behind a delaying proxy, side by side with the tutorial way of sending
// (bench/tutorial.ts), in the same run. `npm run bench -- --quick` is the CI smoke run. See bench/README.md.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { lambdaBundleOptions } from '../scripts/build.ts';
import { bareNodeMs, LambdaProcess, lambdaEnv } from './lambda-process.ts';
import { startBenchPeers } from './peers.ts';
import {
  type BundleResult,
  bundleTable,
  type Check,
  type Comparison,
  checkTable,
  scenarioTable,
} from './report.ts';
import {
  burstRun,
  coldRun,
  coldStart,
  events,
  measure,
  type ScenarioResult,
  type ScenarioSpec,
  type Subject,
  warmRun,
} from './scenarios.ts';
import { median, round } from './stats.ts';

const root = join(import.meta.dirname, '..');
const resultsDir = join(root, 'bench-results');
const buildDir = join(resultsDir, '.build');
const functionsDir = join(root, 'dist', 'functions');

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rtt: { type: 'string', default: '20' },
    'secret-delay': { type: 'string', default: '25' },
  },
});
const rttMs = Number(flags.rtt);
const secretDelayMs = Number(flags['secret-delay']);
if (!(rttMs > 0) || !(secretDelayMs >= 0)) throw new Error('--rtt must be > 0 and --secret-delay >= 0 (ms)');

/** How many times each measurement is repeated; the quick plan only proves that everything works. */
const plan = flags.quick
  ? { importSamples: 3, coldRuns: 2, warmRuns: 5, batchRuns: 2, burstBatches: 2, tutorialRuns: 3 }
  : { importSamples: 9, coldRuns: 7, warmRuns: 25, batchRuns: 7, burstBatches: 10, tutorialRuns: 9 };

interface Budget {
  maxBundleBytes: number;
  maxWarmAlertRtts: number;
  maxWarmAlertSmtpRoundTrips: number;
  maxWarmAlertTlsHandshakes: number;
  maxWarmAlertSecretFetches: number;
  maxBatchPeakRssMb: number;
}
const budget = JSON.parse(readFileSync(join(import.meta.dirname, 'budget.json'), 'utf8')) as Budget;

if (!existsSync(functionsDir))
  throw new Error('dist/functions is missing: run `npm run bench`, which builds first');
const functionNames = readdirSync(functionsDir).filter((name) =>
  existsSync(join(functionsDir, name, 'index.mjs')),
);

// The worker runs as plain JavaScript so that the process loads nothing before the bundle; the
// tutorial is bundled exactly like the functions, so both sides load the same way.
mkdirSync(buildDir, { recursive: true });
const workerFile = join(buildDir, 'worker.mjs');
const tutorialFile = join(buildDir, 'tutorial', 'index.mjs');
await build({
  entryPoints: [join(import.meta.dirname, 'worker.ts')],
  outfile: workerFile,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  logLevel: 'warning',
});
await build(lambdaBundleOptions(join(import.meta.dirname, 'tutorial.ts'), tutorialFile));

const startedAt = new Date();
const loadBefore = loadavg();
const peers = await startBenchPeers({ rttMs, secretDelayMs });
const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);
const scenarios: ScenarioResult[] = [];
const bundles: BundleResult[] = [];

try {
  const bundleFile = (name: string) => join(functionsDir, name, 'index.mjs');
  const ours = (name: string, extraEnv: Record<string, string> = {}): Subject => ({
    workerFile,
    bundleFile: bundleFile(name),
    env: { ...peers.functionEnv, ...extraEnv },
  });
  const tutorial: Subject = { workerFile, bundleFile: tutorialFile, env: peers.functionEnv };

  // Bundles: import time in fresh processes, interleaved with bare `node -e 0` so both see the same machine.
  progress(`import time of ${functionNames.join(', ')} and the tutorial bundle, ${plan.importSamples}× each`);
  const imports = new Map<
    string,
    { importMs: number; importCpuMs: number; processMs: number; rss: number }[]
  >();
  const bare: number[] = [];
  const importSubjects: [string, string][] = [
    ...functionNames.map((name): [string, string] => [name, bundleFile(name)]),
    ['tutorial (baseline)', tutorialFile],
  ];
  for (let sample = 0; sample < plan.importSamples; sample += 1) {
    bare.push(await bareNodeMs(lambdaEnv('bare', {})));
    for (const [name, file] of importSubjects) {
      const lambda = await LambdaProcess.start(workerFile, file, lambdaEnv(name, peers.functionEnv), {
        importOnly: true,
      });
      const exitedAt = await lambda.exited();
      imports.set(name, [
        ...(imports.get(name) ?? []),
        {
          importMs: lambda.ready.importMs,
          importCpuMs: lambda.ready.importCpuMs,
          processMs: exitedAt - lambda.spawnedAt,
          rss: lambda.ready.rssMb,
        },
      ]);
    }
  }
  for (const [name, file] of importSubjects) {
    const samples = imports.get(name) ?? [];
    bundles.push({
      function: name,
      bytes: statSync(file).size,
      samples: samples.length,
      importMs: round(median(samples.map((sample) => sample.importMs))),
      importCpuMs: round(median(samples.map((sample) => sample.importCpuMs))),
      processMs: round(median(samples.map((sample) => sample.processMs))),
      bareNodeMs: round(median(bare)),
      rssAfterImportMb: round(median(samples.map((sample) => sample.rss))),
    });
  }

  // An import-only process may have sent its secret prefetch just before it exited; let the answer
  // land before the scenarios start counting.
  await new Promise((resolve) => setTimeout(resolve, secretDelayMs + 250));

  const spec = (
    id: string,
    title: string,
    fn: string,
    alertsPerRun: number,
    subject: ScenarioSpec['subject'] = 'ours',
  ): ScenarioSpec => ({ id, title, subject, function: fn, alertsPerRun });
  const burstSize = plan.burstBatches * 10;

  // Ours, SQS function.
  progress('sqs: cold starts');
  scenarios.push(
    await measure(
      peers,
      spec('cold-first-alert', 'cold first alert (sqs, 1 record)', 'sqs', 1),
      plan.coldRuns,
      coldRun(ours('sqs'), 'sqs', events.sqs(1)),
    ),
    await measure(
      peers,
      spec('cold-first-alert-from', 'cold first alert, ALERT_FROM set', 'sqs', 1),
      plan.coldRuns,
      coldRun(ours('sqs', { ALERT_FROM: 'alerts@example.com' }), 'sqs', events.sqs(1)),
    ),
    await measure(
      peers,
      spec('cold-first-alert-465', 'cold first alert, implicit TLS (465)', 'sqs', 1),
      plan.coldRuns,
      coldRun(ours('sqs', peers.implicitTlsEnv), 'sqs', events.sqs(1)),
    ),
    await measure(
      peers,
      spec('cold-first-alert-465-from', 'cold first alert, 465 and ALERT_FROM', 'sqs', 1),
      plan.coldRuns,
      coldRun(
        ours('sqs', { ...peers.implicitTlsEnv, ALERT_FROM: 'alerts@example.com' }),
        'sqs',
        events.sqs(1),
      ),
    ),
    await measure(
      peers,
      spec('cold-batch-10', 'cold SQS batch of 10', 'sqs', 10),
      plan.coldRuns,
      coldRun(ours('sqs'), 'sqs', events.sqs(10)),
    ),
  );
  progress('sqs: warm container');
  const sqs = await coldStart(ours('sqs'), 'sqs');
  try {
    // The container's first alert opens one connection; its first batch opens the rest of the pool
    // (SMTP_MAX_CONNECTIONS). The warm scenarios measure the steady state after both.
    await sqs.invoke(events.sqs(1)());
    await sqs.invoke(events.sqs(10)());
    scenarios.push(
      await measure(
        peers,
        spec('warm-single-alert', 'warm single alert (sqs, 1 record)', 'sqs', 1),
        plan.warmRuns,
        warmRun(sqs, events.sqs(1)),
      ),
      await measure(
        peers,
        spec('sqs-batch-10', 'SQS batch of 10 (warm)', 'sqs', 10),
        plan.batchRuns,
        warmRun(sqs, events.sqs(10)),
      ),
      await measure(
        peers,
        spec('burst', `burst of ${burstSize} in batches of 10 (warm)`, 'sqs', burstSize),
        1,
        burstRun(sqs, plan.burstBatches, 10),
      ),
    );
  } finally {
    await sqs.close();
  }

  // The same batch with a pool as wide as the batch: what SMTP_MAX_CONNECTIONS (default 3) costs.
  progress('sqs: warm container with SMTP_MAX_CONNECTIONS=10');
  const wide = await coldStart(ours('sqs', { SMTP_MAX_CONNECTIONS: '10' }), 'sqs');
  try {
    await wide.invoke(events.sqs(10)());
    scenarios.push(
      await measure(
        peers,
        spec('sqs-batch-10-wide', 'SQS batch of 10 (warm), 10 connections', 'sqs', 10),
        plan.batchRuns,
        warmRun(wide, events.sqs(10)),
      ),
    );
  } finally {
    await wide.close();
  }

  // Ours, HTTP function.
  progress('http: cold starts and a warm container');
  scenarios.push(
    await measure(
      peers,
      spec('http-cold', 'HTTP alert, cold', 'http', 1),
      plan.coldRuns,
      coldRun(ours('http'), 'http', events.http),
    ),
  );
  const http = await coldStart(ours('http'), 'http');
  try {
    await http.invoke(events.http());
    scenarios.push(
      await measure(
        peers,
        spec('http-warm', 'HTTP alert, warm', 'http', 1),
        plan.warmRuns,
        warmRun(http, events.http),
      ),
    );
  } finally {
    await http.close();
  }

  // The tutorial way, same server, same path, same run.
  progress('tutorial baseline');
  scenarios.push(
    await measure(
      peers,
      spec('tutorial-cold', 'tutorial: first send (cold)', 'tutorial', 1, 'tutorial'),
      plan.coldRuns,
      coldRun(tutorial, 'tutorial', events.sqs(1)),
    ),
  );
  const baseline = await coldStart(tutorial, 'tutorial');
  try {
    await baseline.invoke(events.sqs(1)());
    scenarios.push(
      await measure(
        peers,
        spec('tutorial-single', 'tutorial: single alert (warm)', 'tutorial', 1, 'tutorial'),
        plan.tutorialRuns,
        warmRun(baseline, events.sqs(1)),
      ),
      await measure(
        peers,
        spec('tutorial-batch-10', 'tutorial: batch of 10', 'tutorial', 10, 'tutorial'),
        Math.max(1, Math.round(plan.batchRuns / 2)),
        warmRun(baseline, events.sqs(10)),
      ),
      await measure(
        peers,
        spec('tutorial-burst', `tutorial: burst of ${burstSize}`, 'tutorial', burstSize, 'tutorial'),
        1,
        burstRun(baseline, plan.burstBatches, 10),
      ),
    );
  } finally {
    await baseline.close();
  }
} finally {
  await peers.close();
}

const byId = (id: string) => {
  const scenario = scenarios.find((entry) => entry.id === id);
  if (!scenario) throw new Error(`no scenario ${id}`);
  return scenario;
};
const versus: [string, string][] = [
  ['cold-first-alert', 'tutorial-single'],
  ['cold-first-alert-from', 'tutorial-single'],
  ['cold-first-alert-465', 'tutorial-single'],
  ['cold-first-alert-465-from', 'tutorial-single'],
  ['cold-batch-10', 'tutorial-batch-10'],
  ['warm-single-alert', 'tutorial-single'],
  ['sqs-batch-10', 'tutorial-batch-10'],
  ['sqs-batch-10-wide', 'tutorial-batch-10'],
  ['burst', 'tutorial-burst'],
  ['http-cold', 'tutorial-single'],
  ['http-warm', 'tutorial-single'],
  ['tutorial-cold', 'tutorial-single'],
];
const comparisons: Comparison[] = versus.map(([scenario, against]) => ({
  scenario,
  baseline: against,
  ratio: round(byId(scenario).wallMs / byId(against).wallMs, 3),
}));

const warm = byId('warm-single-alert');
const batch = byId('sqs-batch-10');
const coldBatch = byId('cold-batch-10');
const batchPeakMb = Math.max(batch.peakRssMb, coldBatch.peakRssMb);
const ratioOf = (id: string) => comparisons.find((entry) => entry.scenario === id)?.ratio ?? Number.NaN;
const functionBundles = bundles.filter((bundle) => functionNames.includes(bundle.function));

/** The issue's targets: reported, not enforced (timings depend on the machine). */
const targets: Check[] = [
  {
    name: 'warm single alert',
    limit: '≤ 4.5 RTT, 0 TLS handshakes, 0 secret fetches',
    measured: `${warm.rtts} RTT, ${warm.perRun.tlsHandshakes} TLS, ${warm.perRun.secretFetches} fetches`,
    ok: warm.rtts <= 4.5 && warm.perRun.tlsHandshakes === 0 && warm.perRun.secretFetches === 0,
  },
  {
    name: 'cold first alert',
    limit: '≤ 1 tutorial send',
    measured: `${ratioOf('cold-first-alert')}× (${byId('cold-first-alert').wallMs} ms vs ${byId('tutorial-single').wallMs} ms)`,
    ok: ratioOf('cold-first-alert') <= 1,
  },
  {
    name: 'cold first alert, ALERT_FROM set',
    limit: '≤ 1 tutorial send',
    measured: `${ratioOf('cold-first-alert-from')}× (${byId('cold-first-alert-from').wallMs} ms)`,
    ok: ratioOf('cold-first-alert-from') <= 1,
  },
  {
    name: 'cold first alert, 465 and ALERT_FROM',
    limit: '≤ 1 tutorial send',
    measured: `${ratioOf('cold-first-alert-465-from')}× (${byId('cold-first-alert-465-from').wallMs} ms)`,
    ok: ratioOf('cold-first-alert-465-from') <= 1,
  },
  {
    name: 'SQS batch of 10',
    limit: '≤ 0.2× tutorial',
    measured: `${ratioOf('sqs-batch-10')}× (${batch.wallMs} ms vs ${byId('tutorial-batch-10').wallMs} ms)`,
    ok: ratioOf('sqs-batch-10') <= 0.2,
  },
  ...functionBundles.map((bundle) => ({
    name: `import ${bundle.function}`,
    limit: '≤ 80 ms',
    measured: `${bundle.importMs} ms`,
    ok: bundle.importMs <= 80,
  })),
  {
    name: 'peak RSS, batch of 10',
    limit: 'well inside 128 MB (≤ 96)',
    measured: `${batchPeakMb} MB`,
    ok: batchPeakMb <= 96,
  },
];

/** bench/budget.json: enforced, the bench exits non-zero when one is exceeded. */
const budgetChecks: Check[] = [
  ...functionBundles.map((bundle) => ({
    name: `bundle bytes, ${bundle.function}`,
    limit: `≤ ${budget.maxBundleBytes}`,
    measured: String(bundle.bytes),
    ok: bundle.bytes <= budget.maxBundleBytes,
  })),
  {
    name: 'RTTs per warm alert',
    limit: `≤ ${budget.maxWarmAlertRtts}`,
    measured: String(warm.rtts),
    ok: warm.rtts <= budget.maxWarmAlertRtts,
  },
  {
    name: 'SMTP round trips per warm alert (on the wire)',
    limit: `≤ ${budget.maxWarmAlertSmtpRoundTrips}`,
    measured: String(warm.perRun.smtpRoundTrips),
    ok: warm.perRun.smtpRoundTrips <= budget.maxWarmAlertSmtpRoundTrips,
  },
  {
    name: 'TLS handshakes per warm alert',
    limit: `≤ ${budget.maxWarmAlertTlsHandshakes}`,
    measured: String(warm.perRun.tlsHandshakes),
    ok: warm.perRun.tlsHandshakes <= budget.maxWarmAlertTlsHandshakes,
  },
  {
    name: 'secret fetches per warm alert',
    limit: `≤ ${budget.maxWarmAlertSecretFetches}`,
    measured: String(warm.perRun.secretFetches),
    ok: warm.perRun.secretFetches <= budget.maxWarmAlertSecretFetches,
  },
  {
    name: 'peak RSS MB, batch of 10',
    limit: `≤ ${budget.maxBatchPeakRssMb}`,
    measured: String(batchPeakMb),
    ok: batchPeakMb <= budget.maxBatchPeakRssMb,
  },
];

const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
const cpuList = cpus();
const machine = {
  cpu: cpuList[0]?.model ?? 'unknown',
  cores: cpuList.length,
  memoryGb: round(totalmem() / 2 ** 30),
  os: `${process.platform} ${release()} ${process.arch}`,
  node: process.version,
  loadAverage: {
    before: loadBefore.map((value) => round(value, 2)),
    after: loadavg().map((value) => round(value, 2)),
  },
};
const settings = { quick: flags.quick, rttMs, secretDelayMs, plan };

const markdown = [
  `Command: \`${command}\` (${startedAt.toISOString()})`,
  `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; load average ${machine.loadAverage.before.join(' ')} → ${machine.loadAverage.after.join(' ')}`,
  `Path: RTT ${rttMs} ms through the proxy, Secrets Manager answers after ${secretDelayMs} ms. Medians of the runs; wall ms is the invocation, init ms the import before it (new process).`,
  '',
  scenarioTable(scenarios, comparisons),
  '',
  bundleTable(bundles),
  '',
  'Targets (issue #5)',
  '',
  checkTable(targets),
  '',
  'Budget (bench/budget.json)',
  '',
  checkTable(budgetChecks),
].join('\n');
process.stdout.write(`\n${markdown}\n`);

mkdirSync(resultsDir, { recursive: true });
const result = {
  command,
  startedAt: startedAt.toISOString(),
  machine,
  settings,
  scenarios,
  comparisons,
  bundles,
  targets,
  budget: { limits: budget, checks: budgetChecks },
};
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const name = `bench-${flags.quick ? 'quick-' : ''}${stamp}`;
writeFileSync(join(resultsDir, `${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(resultsDir, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(join(resultsDir, 'latest.md'), `${markdown}\n`);
process.stdout.write(`\nwrote bench-results/${name}.json (and latest.json, latest.md)\n`);

const exceeded = budgetChecks.filter((check) => !check.ok);
if (exceeded.length > 0) {
  process.stderr.write(`bench: budget exceeded: ${exceeded.map((check) => check.name).join('; ')}\n`);
  process.exitCode = 1;
}
