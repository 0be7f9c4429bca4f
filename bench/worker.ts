// One Lambda execution environment: a fresh Node process that imports a bundle the way the Node.js
// runtime does (import = init phase, `handler(event, context)` = invocation) and runs the invocations
// the benchmark sends it. The benchmark compiles this file to plain JavaScript first, so the process
// loads nothing but the bundle: no TypeScript stripping, no test helpers, no modules imported before
// the bundle that would make its import look cheaper than it is (the Lambda context it bundles imports
// nothing).
//
// argv: <bundle file URL> [--import-only]. Commands arrive as JSON lines on stdin; reports leave as
// JSON lines on fd 3 (stdout belongs to the function's logs).

import { createLambdaContext } from '../local/lambda-context.ts';
import type { WorkerCommand, WorkerReport } from './protocol.ts';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

const bundleUrl = process.argv[2] ?? '';
const cpuBefore = process.cpuUsage();
const importStart = performance.now();
const bundle = (await import(bundleUrl)) as { handler: Handler };
const importMs = performance.now() - importStart;
const importCpu = process.cpuUsage(cpuBefore);

const { writeSync } = await import('node:fs');
const report = (message: WorkerReport) => writeSync(3, `${JSON.stringify(message)}\n`);
const memory = () => ({
  rssMb: process.memoryUsage.rss() / 2 ** 20,
  // Lifetime peak of the process, as Lambda's "Max Memory Used" (maxRSS is in KiB).
  maxRssMb: process.resourceUsage().maxRSS / 1024,
});

report({
  type: 'ready',
  importMs,
  importCpuMs: (importCpu.user + importCpu.system) / 1000,
  // Since the process started (performance.timeOrigin): boot, this script, and the import.
  readyMs: performance.now(),
  ...memory(),
});
if (process.argv.includes('--import-only')) process.exit(0);

/** One line about the outcome, so the benchmark can refuse to time sends that did not happen. */
function outcome(result: unknown): { ok: boolean; detail: string } {
  const value = (result ?? {}) as { statusCode?: number; batchItemFailures?: unknown[] };
  if (typeof value.statusCode === 'number') {
    return { ok: value.statusCode === 200, detail: `HTTP ${value.statusCode}` };
  }
  if (Array.isArray(value.batchItemFailures)) {
    const failures = value.batchItemFailures.length;
    return { ok: failures === 0, detail: `${failures} batch item failure(s)` };
  }
  return { ok: true, detail: String(result) };
}

const { createInterface } = await import('node:readline');
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as WorkerCommand;
  if (command.type === 'exit') break;
  const cpu = process.cpuUsage();
  const start = performance.now();
  try {
    const result = await bundle.handler(
      command.event,
      createLambdaContext({
        functionName: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench',
        memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
        timeoutMs: command.timeoutMs,
      }),
    );
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    report({
      type: 'result',
      id: command.id,
      startedAt: performance.timeOrigin + start,
      wallMs,
      cpuMs: (used.user + used.system) / 1000,
      ...outcome(result),
      ...memory(),
    });
  } catch (error) {
    report({
      type: 'result',
      id: command.id,
      startedAt: performance.timeOrigin + start,
      wallMs: performance.now() - start,
      cpuMs: 0,
      ok: false,
      detail: `threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
      ...memory(),
    });
  }
}
// The warm pooled connection would keep the process alive until its idle timeout.
process.exit(0);
