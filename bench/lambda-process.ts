import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import type { ReadyReport, ResultReport, WorkerCommand, WorkerReport } from './protocol.ts';

/** The environment of a Lambda function: only what the runtime and the stack give it, nothing inherited. */
export function lambdaEnv(functionName: string, env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    AWS_LAMBDA_FUNCTION_NAME: `gmail-alerts-${functionName}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
    ...env,
  };
}

/**
 * A worker process holding one imported bundle: a Lambda execution environment that the benchmark
 * invokes one event at a time.
 */
export class LambdaProcess {
  readonly ready: ReadyReport;
  /** When the process was spawned (performance.now() of the benchmark). */
  readonly spawnedAt: number;
  readonly #child: ChildProcess;
  readonly #reports: AsyncIterator<string>;
  readonly #stderr: string[];
  #nextId = 1;

  private constructor(
    child: ChildProcess,
    reports: AsyncIterator<string>,
    ready: ReadyReport,
    spawnedAt: number,
    stderr: string[],
  ) {
    this.#child = child;
    this.#reports = reports;
    this.ready = ready;
    this.spawnedAt = spawnedAt;
    this.#stderr = stderr;
  }

  /** Spawns a fresh Node process (this Node, 24) that imports `bundleFile` and reports when it is ready. */
  static async start(
    workerFile: string,
    bundleFile: string,
    env: Record<string, string>,
    options: { importOnly?: boolean } = {},
  ): Promise<LambdaProcess> {
    const spawnedAt = performance.now();
    const args = [
      workerFile,
      pathToFileURL(bundleFile).href,
      ...(options.importOnly ? ['--import-only'] : []),
    ];
    const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    (child.stderr as Readable).setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));
    const reports = createInterface({ input: child.stdio[3] as Readable })[Symbol.asyncIterator]();
    const first = await reports.next();
    if (first.done) {
      await once(child, 'close').catch(() => undefined);
      throw new Error(`worker for ${bundleFile} exited before it was ready:\n${stderr.join('')}`);
    }
    const ready = JSON.parse(first.value) as WorkerReport;
    if (ready.type !== 'ready') throw new Error(`worker sent ${ready.type} before ready`);
    return new LambdaProcess(child, reports, ready, spawnedAt, stderr);
  }

  /** Invokes the handler once and waits for its report. */
  async invoke(event: unknown, timeoutMs = 30_000): Promise<ResultReport> {
    const id = this.#nextId++;
    this.#send({ type: 'invoke', id, event, timeoutMs });
    const next = await this.#reports.next();
    if (next.done) throw new Error(`worker exited during invocation ${id}:\n${this.#stderr.join('')}`);
    const report = JSON.parse(next.value) as WorkerReport;
    if (report.type !== 'result' || report.id !== id) throw new Error(`unexpected report ${next.value}`);
    return report;
  }

  /** Waits for the process to end (an import-only worker ends by itself) and returns when it did. */
  async exited(): Promise<number> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) await once(this.#child, 'close');
    return performance.now();
  }

  async close(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#send({ type: 'exit' });
    await this.exited();
  }

  #send(command: WorkerCommand): void {
    (this.#child.stdin as Writable).write(`${JSON.stringify(command)}\n`);
  }
}

/** Wall time of `node -e 0` in a fresh process: what any Node function pays before its own code. */
export async function bareNodeMs(env: Record<string, string>): Promise<number> {
  const start = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { env, stdio: 'ignore' });
  await once(child, 'close');
  return performance.now() - start;
}
