// Runs the built Lambda bundles in a child process that plays the Lambda sandbox. Why a child and not
// an import: the handlers must trust the local Gmail-like server's CA through NODE_EXTRA_CA_CERTS,
// which Node reads only when a process starts; and like a real function they should see exactly their
// configuration contract, not the environment of the shell that ran `npm start`.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

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

/** What the parent sends the sandbox. */
export interface HostRequest {
  id: number;
  name: FunctionName;
  event: unknown;
  timeoutMs: number;
}

/** What the sandbox answers: start-up, then one reply per invocation. */
export type HostReply =
  | { ready: true }
  | { ready: false; errorMessage: string }
  | { id: number; ok: true; result: unknown }
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

/**
 * Starts the sandbox and cold-starts `preload`; resolves when they are loaded. A sandbox that dies or
 * times out is replaced on the next invocation, which is then a cold start, as in Lambda.
 */
export async function startLambdaHost(options: LambdaHostOptions): Promise<LambdaHost> {
  assertBuilt(options.preload);
  let child: ChildProcess | undefined;
  let nextId = 1;
  const pending = new Map<number, (reply: Invocation) => void>();

  const spawnSandbox = () =>
    new Promise<ChildProcess>((resolve, reject) => {
      const sandbox = fork(
        join(import.meta.dirname, 'lambda-runtime.ts'),
        [DIST_FUNCTIONS, ...options.preload],
        {
          env: options.env,
          execArgv: ['--enable-source-maps'],
          stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        },
      );
      for (const stream of [sandbox.stdout, sandbox.stderr]) {
        if (stream) createInterface({ input: stream }).on('line', (line) => options.onOutput?.(line));
      }
      sandbox.on('message', (message: HostReply) => {
        if ('ready' in message) {
          if (message.ready) resolve(sandbox);
          else reject(new Error(`the handlers could not be loaded: ${message.errorMessage}`));
          return;
        }
        const settle = pending.get(message.id);
        pending.delete(message.id);
        settle?.(
          message.ok
            ? { ok: true, result: message.result, durationMs: 0 }
            : { ok: false, error: message.error, durationMs: 0 },
        );
      });
      sandbox.once('exit', (code, signal) => {
        if (child === sandbox) child = undefined;
        reject(new Error(`the Lambda sandbox exited (${signal ?? code}) before it was ready`));
        for (const [id, settle] of pending) {
          pending.delete(id);
          settle({
            ok: false,
            error: { errorType: 'Runtime.ExitError', errorMessage: `the sandbox exited (${signal ?? code})` },
            durationMs: 0,
          });
        }
      });
    });

  child = await spawnSandbox();

  return {
    get pid() {
      return child?.pid;
    },
    async invoke<R>(name: FunctionName, event: unknown): Promise<Invocation<R>> {
      const started = performance.now();
      child ??= await spawnSandbox();
      const sandbox = child;
      const id = nextId++;
      const timeoutMs = FUNCTION_TIMEOUT_MS[name];
      const reply = await new Promise<Invocation>((resolve) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          resolve({
            ok: false,
            error: {
              errorType: 'Sandbox.Timedout',
              errorMessage: `Task timed out after ${timeoutMs / 1000} seconds`,
            },
            durationMs: 0,
          });
          // Lambda throws the sandbox away after a timeout; the next invocation is a cold start.
          sandbox.kill();
        }, timeoutMs);
        pending.set(id, (settled) => {
          clearTimeout(timer);
          resolve(settled);
        });
        sandbox.send({ id, name, event, timeoutMs } satisfies HostRequest);
      });
      return { ...reply, durationMs: Math.round(performance.now() - started) } as Invocation<R>;
    },
    async close() {
      const sandbox = child;
      child = undefined;
      if (!sandbox || sandbox.exitCode !== null) return;
      const exited = new Promise((resolve) => sandbox.once('exit', resolve));
      sandbox.disconnect();
      const timer = setTimeout(() => sandbox.kill('SIGKILL'), 2_000);
      await exited;
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
