import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/chromium.ts';

const root = join(import.meta.dirname, '../..');
const chromiumInstalled = hasChromium('the silence browser test');
const screenshotDir = join(root, 'test-results');

describe.skipIf(!chromiumInstalled)(`a silence link followed in headless Chromium (${CHROMIUM})`, () => {
  let start: ChildProcessWithoutNullStreams;
  let browser: BrowserContext;
  let outboxDir: string;
  let profileDir: string;
  let baseUrl = '';

  beforeAll(async () => {
    outboxDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-e2e-silence-outbox-'));
    profileDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-e2e-silence-chromium-'));
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
      // A phone's width: the silence page is opened from a mail, often on one.
      viewport: { width: 375, height: 740 },
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

  const alert = {
    subject: 'Disk almost full on db-7',
    severity: 'warning',
    dedupKey: 'db-7-disk-var',
    text: '/var is at 93% and growing 2% an hour.',
  };
  const send = () =>
    fetch(`${baseUrl}/alerts`, {
      method: 'POST',
      headers: { 'x-api-key': 'local-dev-key', 'content-type': 'application/json' },
      body: JSON.stringify(alert),
    });

  it('follows the link from a received mail, silences the key for 1 h, and the next alert is held', async () => {
    expect((await send()).status).toBe(200);
    await mkdir(screenshotDir, { recursive: true });
    const page = await browser.newPage();

    await page.goto(`${baseUrl}/`);
    await page.locator('li.mail', { hasText: alert.subject }).locator('a.subject').click();
    await page.waitForURL(/\/messages\/[^/]+$/);
    const mail = page.frameLocator('iframe[title="HTML part of the alert"]');
    const link = mail.locator('a', { hasText: 'Silence…' });
    await expect.poll(() => link.getAttribute('href')).toMatch(/\/silences\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const href = (await link.getAttribute('href')) ?? '';
    expect(href.startsWith(`${baseUrl}/silences/`)).toBe(true);

    // Opening the link only shows the choices (as a mail scanner's fetch would).
    const opened = await page.goto(href);
    expect(opened?.status()).toBe(200);
    expect(opened?.headers()['content-security-policy']).toContain("default-src 'none'");
    expect(await page.locator('h1').textContent()).toBe(alert.subject);
    expect(await page.locator('.state').textContent()).toContain('Not silenced');
    // Fits a phone: nothing wider than the viewport.
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(screenshotDir, 'silence-confirm.png'), fullPage: true });

    await page.locator('button', { hasText: '1 hour' }).click();
    await page.waitForLoadState();
    expect(await page.locator('h1').textContent()).toMatch(/^Silenced until \d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
    await page.screenshot({ path: join(screenshotDir, 'silence-done.png'), fullPage: true });

    const again = await send();
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ silenced: true, hidden: 1 });

    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(`${baseUrl}/`);
    const silenced = page.locator('li.silence', { hasText: alert.dedupKey });
    await expect.poll(() => silenced.count()).toBe(1);
    expect(await silenced.locator('.hidden-count').textContent()).toBe('1 alert held back');
    expect(await page.locator('li.mail:not(.silence)', { hasText: alert.subject }).count()).toBe(1);
    await page.screenshot({ path: join(screenshotDir, 'silence-outbox.png'), fullPage: true });
    expect((await stat(join(screenshotDir, 'silence-outbox.png'))).size).toBeGreaterThan(10_000);

    // The page now offers to end it.
    await page.goto(href);
    expect(await page.locator('.state').textContent()).toContain('1 alert has been held back so far');
    expect(await page.locator('button.end').count()).toBe(1);
  });
});
