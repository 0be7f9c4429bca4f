// Runs the built Lambda bundles in a child process that plays the Lambda sandbox. Why a child and not
// an import: the handlers must trust the local Gmail-like server's CA through NODE_EXTRA_CA_CERTS,
// which Node reads only when a process starts; and like a real function they should see exactly their
// configuration contract, not the environment of the shell that ran `npm start`.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { jsonText } from './json-text.ts';

export const PROJECT_ROOT = join(import.meta.dirname, '..');
export const DIST_FUNCTIONS = join(PROJECT_ROOT, 'dist', 'functions');

/** The functions and their timeouts, as the stack deploys them (infra/alerting-stack.ts). */
export const FUNCTION_TIMEOUT_MS = {
  http: 25_000,
  sqs: 60_000,
  eventbridge: 30_000,
  doctor: 30_000,
} as const;
export type FunctionName = keyof typeof FUNCTION_TIMEOUT_MS;
export const isFunctionName = (name: string): name is FunctionName =>
  Object.hasOwn(FUNCTION_TIMEOUT_MS, name);

/**
 * What the parent sends the sandbox. The event travels as JSON text made by {@link jsonText}: Node's
 * own IPC serialisation recurses and overflows on deeply nested events, which Lambda passes as text.
 */
export interface HostRequest {
  id: number;
  name: FunctionName;
  eventJson: string;
  timeoutMs: number;
}

/** What the sandbox answers: start-up, then one reply per invocation (the result as JSON text). */
export type HostReply =
  | { ready: true }
  | { ready: false; errorMessage: string }
  | { id: number; ok: true; resultJson: string }
  | { id: number; ok: false; error: LambdaError };

/** A handler that threw, as Lambda reports it. */
export interface LambdaError {
  errorType: string;
  errorMessage: string;
}

export type Invocation<R = unknown> =
  | { ok: true; result: R; durationMs: number }
  | { ok: false; error: LambdaError; durationMs: number };

export interface LambdaHost {
  /** Runs one invocation; never rejects: a handler that threw or timed out comes back as `ok: false`. */
  invoke<R = unknown>(name: FunctionName, event: unknown): Promise<Invocation<R>>;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export interface LambdaHostOptions {
  /** The whole environment of the sandbox. */
  env: Record<string, string | undefined>;
  /** Functions to cold-start right away. */
  preload: FunctionName[];
  /** Function timeouts other than the stack's ({@link FUNCTION_TIMEOUT_MS}). */
  timeoutsMs?: Partial<Record<FunctionName, number>>;
  /** Every line the handlers log (Powertools JSON on stdout, anything on stderr). */
  onOutput?: (line: string) => void;
}

/** Fails with the command to run when a bundle is missing. */
export function assertBuilt(names: FunctionName[]): void {
  const missing = names.filter((name) => !existsSync(join(DIST_FUNCTIONS, name, 'index.mjs')));
  if (missing.length > 0) {
    throw new Error(`dist/functions/${missing[0]}/index.mjs is missing: run npm run build first`);
  }
}

/** The sandbox is gone (crashed, killed after a timeout, or closed): what Lambda reports then. */
const exitError = (reason: string): LambdaError => ({
  errorType: 'Runtime.ExitError',
  errorMessage: `the sandbox exited (${reason})`,
});

/** One child process: the Lambda execution environment, and the invocations waiting on it. */
interface Sandbox {
  process: ChildProcess;
  pending: Map<number, (reply: Invocation) => void>;
  exited: Promise<void>;
}

function spawnSandbox(options: LambdaHostOptions): Promise<Sandbox> {
  return new Promise<Sandbox>((resolve, reject) => {
    const child = fork(join(import.meta.dirname, 'lambda-runtime.ts'), [DIST_FUNCTIONS, ...options.preload], {
      env: options.env,
      execArgv: ['--enable-source-maps'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const sandbox: Sandbox = {
      process: child,
      pending: new Map(),
      exited: new Promise((done) => child.once('exit', () => done())),
    };
    for (const stream of [child.stdout, child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', (line) => options.onOutput?.(line));
    }
    child.on('message', (message: HostReply) => {
      if ('ready' in message) {
        if (message.ready) resolve(sandbox);
        else reject(new Error(`the handlers could not be loaded: ${message.errorMessage}`));
        return;
      }
      const settle = sandbox.pending.get(message.id);
      sandbox.pending.delete(message.id);
      settle?.(
        message.ok
          ? { ok: true, result: JSON.parse(message.resultJson), durationMs: 0 }
          : { ok: false, error: message.error, durationMs: 0 },
      );
    });
    // The IPC channel fails when the child is gone; the exit below settles what was waiting.
    child.on('error', () => {});
    child.once('exit', (code, signal) => {
      const reason = String(signal ?? code);
      reject(new Error(`the Lambda sandbox exited (${reason}) before it was ready`));
      for (const [id, settle] of sandbox.pending) {
        sandbox.pending.delete(id);
        settle({ ok: false, error: exitError(reason), durationMs: 0 });
      }
    });
  });
}

/** Ends a sandbox for good and resolves once its process has exited, so no two ever run at once. */
async function retire(sandbox: Sandbox, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (sandbox.process.exitCode === null && sandbox.process.signalCode === null) sandbox.process.kill(signal);
  await sandbox.exited;
}

/**
 * Starts the sandbox and cold-starts `preload`; resolves when they are loaded. A sandbox that dies or
 * times out is replaced on the next invocation, which is then a cold start, as in Lambda. At most one
 * sandbox runs at any time: a timed-out one is killed and waited for before the next starts.
 */
export async function startLambdaHost(options: LambdaHostOptions): Promise<LambdaHost> {
  assertBuilt(options.preload);
  let nextId = 1;
  let live: Sandbox | undefined;
  const start = () =>
    spawnSandbox(options).then((started) => {
      // A sandbox that dies on its own (a crash) is replaced by the next invocation.
      void started.exited.then(() => {
        if (live === started) {
          live = undefined;
          current = undefined;
        }
      });
      return started;
    });
  // Shared by concurrent invocations, so a cold start spawns one sandbox, not one per caller.
  let current: Promise<Sandbox> | undefined = start();
  live = await current;
  // The previous sandbox while it is being killed; the next one waits for it.
  let retiring: Promise<void> = Promise.resolve();

  const sandbox = (): Promise<Sandbox> => {
    if (live && live.process.exitCode === null && live.process.signalCode === null)
      return Promise.resolve(live);
    current ??= retiring.then(start);
    const starting = current;
    return starting.then(
      (started) => {
        live = started;
        return started;
      },
      (error: unknown) => {
        if (current === starting) current = undefined;
        throw error;
      },
    );
  };

  const discard = (target: Sandbox) => {
    if (live === target) live = undefined;
    current = undefined;
    retiring = retire(target);
  };

  const run = async (name: FunctionName, eventJson: string): Promise<Invocation> => {
    let target: Sandbox;
    try {
      target = await sandbox();
    } catch (error) {
      return {
        ok: false,
        error: { errorType: 'Runtime.InitError', errorMessage: (error as Error).message },
        durationMs: 0,
      };
    }
    const id = nextId++;
    const timeoutMs = options.timeoutsMs?.[name] ?? FUNCTION_TIMEOUT_MS[name];
    return new Promise<Invocation>((resolve) => {
      const timer = setTimeout(() => {
        target.pending.delete(id);
        resolve({
          ok: false,
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${timeoutMs / 1000} seconds`,
          },
          durationMs: 0,
        });
        // Lambda throws the sandbox away after a timeout; the next invocation is a cold start.
        discard(target);
      }, timeoutMs);
      target.pending.set(id, (settled) => {
        clearTimeout(timer);
        resolve(settled);
      });
      target.process.send({ id, name, eventJson, timeoutMs } satisfies HostRequest, (error) => {
        if (!error) return;
        target.pending.delete(id);
        clearTimeout(timer);
        resolve({ ok: false, error: exitError(error.message), durationMs: 0 });
      });
    });
  };

  return {
    get pid() {
      return live?.process.pid;
    },
    async invoke<R>(name: FunctionName, event: unknown): Promise<Invocation<R>> {
      const started = performance.now();
      let eventJson: string;
      try {
        eventJson = jsonText(event);
      } catch (error) {
        const errorMessage = `the event is not JSON: ${(error as Error).message}`;
        return { ok: false, error: { errorType: 'Runtime.InvalidEvent', errorMessage }, durationMs: 0 };
      }
      const reply = await run(name, eventJson);
      return { ...reply, durationMs: Math.round(performance.now() - started) } as Invocation<R>;
    },
    async close() {
      const target = live;
      live = undefined;
      current = undefined;
      await retiring;
      if (!target || target.process.exitCode !== null || target.process.signalCode !== null) return;
      target.process.disconnect();
      const timer = setTimeout(() => target.process.kill('SIGKILL'), 2_000);
      await target.exited;
      clearTimeout(timer);
    },
  };
}

// Powertools adds these to every line; locally they are noise (one sandbox, one account).
const CONTEXT_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'cold_start',
  'function_arn',
  'function_memory_size',
  'function_request_id',
  'sampling_rate',
  'xray_trace_id',
]);

/**
 * Shortens a Powertools JSON log line for a terminal: `WARN Alert request failed [http] key=value …`.
 * Lines that are not Powertools JSON are returned unchanged.
 */
export function compactLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof entry !== 'object' || entry === null || typeof entry.message !== 'string') return line;
  const name =
    typeof entry.function_name === 'string' ? entry.function_name.replace(/^gmail-alerts-local-/, '') : '';
  const rest = Object.entries(entry)
    .filter(([key]) => !CONTEXT_KEYS.has(key) && key !== 'function_name')
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [String(entry.level ?? ''), entry.message, name ? `[${name}]` : '', ...rest]
    .filter(Boolean)
    .join(' ');
}
