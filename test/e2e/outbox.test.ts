import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/chromium.ts';

const root = join(import.meta.dirname, '../..');
const chromiumInstalled = hasChromium('the outbox browser test');
const screenshotDir = join(root, 'test-results');

describe.skipIf(!chromiumInstalled)(`the outbox page in headless Chromium (${CHROMIUM})`, () => {
  let start: ChildProcessWithoutNullStreams;
  let browser: BrowserContext;
  let outboxDir: string;
  let profileDir: string;
  let baseUrl = '';

  beforeAll(async () => {
    outboxDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-e2e-outbox-'));
    profileDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-e2e-chromium-'));
    start = spawn(process.execPath, [join(root, 'scripts/start.ts'), '--port', '0', '--outbox', outboxDir], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
    });
    let output = '';
    start.stdout.on('data', (chunk) => {
      output += chunk;
    });
    const deadline = Date.now() + 15_000;
    while (!output.includes('Ctrl-C stops everything') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    baseUrl = /POST (http:\/\/127\.0\.0\.1:\d+)\/alerts/.exec(output)?.[1] ?? '';
    expect(baseUrl, `npm start did not come up:\n${output}`).not.toBe('');
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      headless: true,
      viewport: { width: 1100, height: 900 },
      timeout: 15_000,
    });
  });

  afterAll(async () => {
    await browser?.close();
    if (start && start.exitCode === null) {
      const exited = new Promise((resolve) => start.once('exit', resolve));
      start.kill('SIGTERM');
      await exited;
    }
    await rm(outboxDir, { recursive: true, force: true });
    await rm(profileDir, { recursive: true, force: true });
  });

  it('lists a fresh alert first and shows it as rendered HTML and as text', async () => {
    const subject = 'Checkout <b>5xx</b> above 5% & rising';
    const sent = await fetch(`${baseUrl}/alerts`, {
      method: 'POST',
      headers: { 'x-api-key': 'local-dev-key', 'content-type': 'application/json' },
      body: JSON.stringify({
        subject,
        severity: 'critical',
        text: 'Error rate 7.2% over the last 5 minutes.',
        fields: { service: 'checkout', region: 'eu-west-1' },
        links: [{ title: 'Runbook', url: 'https://runbooks.example.com/checkout-5xx' }],
      }),
    });
    expect(sent.status).toBe(200);
    const page = await browser.newPage();

    await page.goto(`${baseUrl}/`);
    const first = page.locator('li.mail').first();
    await expect.poll(() => first.locator('a.subject').textContent()).toContain(`[CRITICAL] ${subject}`);
    await expect.poll(() => first.locator('.badge').textContent()).toBe('critical');
    await mkdir(screenshotDir, { recursive: true });
    await page.screenshot({ path: join(screenshotDir, 'outbox-list.png'), fullPage: true });

    await first.locator('a.subject').click();
    await page.waitForURL(/\/messages\/[^/]+$/);
    const mail = page.frameLocator('iframe[title="HTML part of the alert"]');
    await expect.poll(() => mail.locator('h1').textContent()).toBe(subject);
    await expect
      .poll(() => mail.locator('a', { hasText: 'Runbook' }).getAttribute('href'))
      .toBe('https://runbooks.example.com/checkout-5xx');
    // The caller's angle brackets are text, not markup, in the mail and on the page.
    expect(await mail.locator('h1 b').count()).toBe(0);
    expect(await page.locator('iframe').getAttribute('sandbox')).toBe(
      'allow-popups allow-popups-to-escape-sandbox',
    );
    expect(await page.locator('pre').textContent()).toContain('service: checkout');
    await page.screenshot({ path: join(screenshotDir, 'outbox.png'), fullPage: true });
    expect((await stat(join(screenshotDir, 'outbox.png'))).size).toBeGreaterThan(10_000);

    await page.locator('a', { hasText: 'plain text' }).click();
    await page.waitForURL(/\/text$/);
    expect(await page.locator('body').textContent()).toContain('Details:\n  service: checkout');
  });
});
