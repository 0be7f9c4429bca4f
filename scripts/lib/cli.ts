// The shape every command shares: parseArgs with --help, exit codes, ✓/✗ lines and progress.
import { type ParseArgsOptionDescriptor, parseArgs, styleText } from 'node:util';

/** 0 success, 1 the thing checked or attempted failed, 2 the command line itself is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A wrong command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--help`: the command stops and its help is printed, exit code 0. */
class HelpRequested extends Error {
  constructor() {
    super('help requested');
    this.name = 'HelpRequested';
  }
}

/** A failure already explained to the user: printed as it is, without a stack. */
export class CommandFailedError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT.failed) {
    super(message);
    this.name = 'CommandFailedError';
    this.exitCode = exitCode;
  }
}

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly description: string;
  /** Shown as `--name <valueName>`. */
  readonly valueName?: string;
}

export interface CommandSpec<O extends Record<string, OptionSpec> = Record<string, OptionSpec>> {
  /** `npm run doctor --`: how the user types it. */
  readonly usage: string;
  readonly summary: string;
  readonly options: O;
  /** Extra paragraphs after the options (environment, examples). */
  readonly more?: readonly string[];
}

/** The parsed values, typed from the spec: booleans, strings, or string lists for `multiple`. */
export type OptionValues<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K] extends { type: 'boolean' }
    ? boolean
    : O[K] extends { multiple: true }
      ? string[]
      : string;
};

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help.' };

/** Renders `--help` for a command. */
export function helpText(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.options, help: HELP }).map(([name, option]) => {
    const flag = `${option.short ? `-${option.short}, ` : '    '}--${name}${option.type === 'string' ? ` <${option.valueName ?? 'value'}>` : ''}`;
    return `  ${flag.padEnd(30)} ${option.description}`;
  });
  return [
    `Usage: ${spec.usage}`,
    '',
    spec.summary,
    '',
    'Options:',
    ...rows,
    ...(spec.more ?? []).flatMap((paragraph) => ['', paragraph]),
    '',
  ].join('\n');
}

/**
 * Parses the command line strictly (unknown options are errors). `--help` ends the command with its
 * help printed (through {@link runCommand}).
 */
export function parseCommandLine<O extends Record<string, OptionSpec>>(
  spec: CommandSpec<O>,
  argv: string[] = process.argv.slice(2),
): { values: OptionValues<O>; positionals: string[] } {
  const options = Object.fromEntries(
    Object.entries({ ...spec.options, help: HELP }).map(([name, option]) => [
      name,
      {
        type: option.type,
        ...(option.short ? { short: option.short } : {}),
        ...(option.multiple ? { multiple: true } : {}),
      },
    ]),
  ) as Record<string, ParseArgsOptionDescriptor>;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) throw new HelpRequested();
  return { values: parsed.values as OptionValues<O>, positionals: parsed.positionals };
}

/** Parses a whole number option, or throws a {@link UsageError} naming it. */
export function integerOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return Number(value);
}

const color = (
  format: Parameters<typeof styleText>[0],
  text: string,
  stream: NodeJS.WriteStream = process.stdout,
) => styleText(format, text, { stream });

/** `✓`, `!`, `✗`, `–` marks, coloured when the stream is a terminal (and NO_COLOR is not set). */
export const mark = {
  ok: (stream?: NodeJS.WriteStream) => color('green', '✓', stream),
  warn: (stream?: NodeJS.WriteStream) => color('yellow', '!', stream),
  fail: (stream?: NodeJS.WriteStream) => color('red', '✗', stream),
  skip: (stream?: NodeJS.WriteStream) => color('gray', '–', stream),
};

export const dim = (text: string, stream?: NodeJS.WriteStream) => color('dim', text, stream);
export const bold = (text: string, stream?: NodeJS.WriteStream) => color('bold', text, stream);

/** `12 ms`, `1.4 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * Shows that something is under way: on a terminal a `…` line that the outcome replaces, elsewhere
 * nothing until the outcome, so logs and tests see one line per step.
 */
export function progress(label: string, stream: NodeJS.WriteStream = process.stderr): { clear(): void } {
  if (!stream.isTTY) return { clear() {} };
  stream.write(`${dim(`… ${label}`, stream)}`);
  return {
    clear() {
      stream.write('\r\x1b[2K');
    },
  };
}

export interface RunOptions {
  /**
   * Print any other failure as one line (`✗ <unexpectedFailure>: <type>: <message>`) instead of its
   * stack: for commands whose users run them, not debug them.
   */
  unexpectedFailure?: string;
}

/**
 * Runs a command's main function: prints usage errors and explained failures without a stack and
 * sets the exit code.
 */
export function runCommand(spec: CommandSpec, main: () => Promise<number>, options: RunOptions = {}): void {
  // Once the work is done the command ends, even if a library still holds a socket (an SDK request
  // the doctor gave up waiting for): the exit code is already set.
  const end = () => setTimeout(() => process.exit(), 2_000).unref();
  main()
    .then(
      (code) => {
        process.exitCode = code;
      },
      (error: unknown) => {
        if (error instanceof HelpRequested) {
          process.stdout.write(helpText(spec));
          process.exitCode = EXIT.ok;
        } else if (error instanceof UsageError) {
          process.stderr.write(
            `${mark.fail(process.stderr)} ${error.message}\nUsage: ${spec.usage}\nRun it with --help for the options.\n`,
          );
          process.exitCode = EXIT.usage;
        } else if (error instanceof CommandFailedError) {
          process.stderr.write(`${mark.fail(process.stderr)} ${error.message}\n`);
          process.exitCode = error.exitCode;
        } else if (options.unexpectedFailure) {
          const failure = error as Error;
          const message = String(failure?.message ?? error).split('\n')[0];
          process.stderr.write(
            `${mark.fail(process.stderr)} ${options.unexpectedFailure}: ${failure?.name ?? 'Error'}: ${message}\n`,
          );
          process.exitCode = EXIT.failed;
        } else {
          process.stderr.write(`${mark.fail(process.stderr)} ${(error as Error)?.stack ?? String(error)}\n`);
          process.exitCode = EXIT.failed;
        }
      },
    )
    .finally(end);
}
