import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

const root = join(import.meta.dirname, '../..');

/** `npm start` on a free port with its own outbox, and a Chromium profile to look at it with. */
export interface LocalStartSession {
  baseUrl: string;
  browser: BrowserContext;
  outboxDir: string;
  close(): Promise<void>;
}

/**
 * Starts `scripts/start.ts` (what `npm start` runs after its build) and a headless Chromium, for the
 * browser tests, with `env` in the shell besides PATH. Fails with the start output when the local
 * run does not come up within 15 s.
 */
export async function startLocalSession(
  name: string,
  viewport: { width: number; height: number },
  env: Record<string, string> = {},
): Promise<LocalStartSession> {
  const outboxDir = await mkdtemp(join(tmpdir(), `gmail-alerts-e2e-${name}-outbox-`));
  const profileDir = await mkdtemp(join(tmpdir(), `gmail-alerts-e2e-${name}-chromium-`));
  const start: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [join(root, 'scripts/start.ts'), '--port', '0', '--outbox', outboxDir],
    { cwd: root, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...env } },
  );
  let output = '';
  start.stdout.on('data', (chunk) => {
    output += chunk;
  });
  const close = async () => {
    await browser?.close();
    if (start.exitCode === null) {
      const exited = new Promise((resolve) => start.once('exit', resolve));
      start.kill('SIGTERM');
      await exited;
    }
    await rm(outboxDir, { recursive: true, force: true });
    await rm(profileDir, { recursive: true, force: true });
  };
  let browser: BrowserContext | undefined;
  const deadline = Date.now() + 15_000;
  while (!output.includes('Ctrl-C stops everything') && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const baseUrl = /POST (http:\/\/127\.0\.0\.1:\d+)\/alerts/.exec(output)?.[1];
  if (!baseUrl) {
    await close();
    throw new Error(`npm start did not come up:\n${output}`);
  }
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport,
    timeout: 15_000,
  });
  return { baseUrl, browser, outboxDir, close };
}
