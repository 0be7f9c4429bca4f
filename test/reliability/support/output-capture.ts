import { format } from 'node:util';
import { afterAll, beforeAll } from 'vitest';

type Write = typeof process.stdout.write;
type ConsoleMethod = 'log' | 'info' | 'warn' | 'error' | 'debug' | 'trace';
const CONSOLE_METHODS: ConsoleMethod[] = ['log', 'info', 'warn', 'error', 'debug', 'trace'];

/** Everything the process wrote while the capture was on: one entry per write or console call. */
export interface OutputCapture {
  readonly chunks: readonly string[];
  /** All output so far, joined. */
  text(): string;
  /** Powertools' JSON log lines so far (other output is skipped). */
  logLines(): Record<string, unknown>[];
  /** Forgets what was captured so far (the capture stays on). */
  clear(): void;
  /** Puts the real streams and console back. */
  stop(): void;
}

/**
 * Captures stdout, stderr and the console in this process (a bundle's Powertools Logger writes to
 * `process.stdout` through its own `Console`; vitest routes `console` elsewhere), and swallows it so
 * the test report stays readable. Nothing can be written past it while it is on.
 */
export function captureOutput(): OutputCapture {
  const chunks: string[] = [];
  const realStdout = process.stdout.write;
  const realStderr = process.stderr.write;
  const realConsole = new Map(CONSOLE_METHODS.map((method) => [method, console[method]]));
  const swallow = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const callback = rest.find((item) => typeof item === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  }) as Write;
  process.stdout.write = swallow;
  process.stderr.write = swallow;
  for (const method of CONSOLE_METHODS) {
    console[method] = (...args: unknown[]) => {
      chunks.push(`${format(...args)}\n`);
    };
  }
  return {
    chunks,
    text: () => chunks.join(''),
    logLines() {
      return chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as Record<string, unknown>];
          } catch {
            return [];
          }
        });
    },
    clear() {
      chunks.length = 0;
    },
    stop() {
      process.stdout.write = realStdout;
      process.stderr.write = realStderr;
      for (const [method, real] of realConsole) console[method] = real;
    },
  };
}

/**
 * {@link captureOutput} for the whole test file: on before its first test, off after its last. Call it
 * at the top of the file; what it returns reads the capture of the run under way.
 */
export function captureFileOutput(): Omit<OutputCapture, 'stop'> {
  let capture: OutputCapture | undefined;
  beforeAll(() => {
    capture = captureOutput();
  });
  afterAll(() => capture?.stop());
  const current = () => {
    if (!capture) throw new Error('output is captured only while the test file runs');
    return capture;
  };
  return {
    get chunks() {
      return current().chunks;
    },
    text: () => current().text(),
    logLines: () => current().logLines(),
    clear: () => current().clear(),
  };
}
