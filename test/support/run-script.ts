import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');

/** What a finished script left behind: its exit code (null when killed) and everything it printed. */
export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `scripts/<script>` to completion in a child Node process, as `npm run` does, with exactly `env`
 * (nothing inherited) and `stdin` as its whole input. A script still running after 45 s is killed, so a
 * hung prompt fails the test instead of stalling the run. `onStdout` sees its output so far whenever
 * more arrives, to act on it while it runs (open a URL it printed).
 */
export async function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  stdin = '',
  onStdout?: (stdoutSoFar: string) => void,
): Promise<ScriptRun> {
  const child = spawn(process.execPath, [join(root, 'scripts', script), ...args], { cwd: root, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    onStdout?.(stdout);
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  child.stdin.end(stdin);
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const [code] = (await once(child, 'close')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}
