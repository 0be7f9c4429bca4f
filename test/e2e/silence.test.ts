import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium } from '../support/chromium.ts';
import { type LocalStartSession, startLocalSession } from '../support/local-start.ts';

const root = join(import.meta.dirname, '../..');
const chromiumInstalled = hasChromium('the silence browser test');
const screenshotDir = join(root, 'test-results');

describe.skipIf(!chromiumInstalled)(`a silence link followed in headless Chromium (${CHROMIUM})`, () => {
  let session: LocalStartSession;
  let browser: BrowserContext;
  let baseUrl = '';

  beforeAll(async () => {
    // A phone's width: the silence page is opened from a mail, often on one.
    session = await startLocalSession('silence', { width: 375, height: 740 });
    ({ browser, baseUrl } = session);
  });

  afterAll(async () => {
    await session?.close();
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
