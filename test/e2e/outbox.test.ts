import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, hasChromium } from '../support/chromium.ts';
import { pageTime, STORM_ENV, sendGuardStorm } from '../support/guard-storm.ts';
import { type LocalStartSession, startLocalSession } from '../support/local-start.ts';

const root = join(import.meta.dirname, '../..');
const chromiumInstalled = hasChromium('the outbox browser test');
const screenshotDir = join(root, 'test-results');

describe.skipIf(!chromiumInstalled)(`the outbox page in headless Chromium (${CHROMIUM})`, () => {
  let session: LocalStartSession;
  let browser: BrowserContext;
  let baseUrl = '';

  beforeAll(async () => {
    session = await startLocalSession('outbox', { width: 1100, height: 900 });
    ({ browser, baseUrl } = session);
  });

  afterAll(async () => {
    await session?.close();
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
    expect(await page.locator('body').textContent()).toContain('\nservice: checkout\n');
  });

  it('shows a GuardDuty finding, a failed pipeline, and an alarm with its recovery as one conversation', async () => {
    const post = async (name: string) => {
      const response = await fetch(`${baseUrl}/events`, {
        method: 'POST',
        body: await readFile(join(root, 'events', `${name}.json`), 'utf8'),
      });
      expect(await response.json()).toMatchObject({ status: 'delivered' });
    };
    await post('eventbridge-guardduty');
    await post('eventbridge-codepipeline-failed');
    await post('eventbridge-alarm');
    await post('eventbridge-alarm-ok');
    const page = await browser.newPage();
    await mkdir(screenshotDir, { recursive: true });

    await page.goto(`${baseUrl}/`);
    const alarm = page.locator('li.mail', { hasText: 'checkout-5xx-rate (us-east-1)' });
    await expect.poll(() => alarm.count()).toBe(1);
    expect(await alarm.locator('.badge').textContent()).toBe('resolved');
    expect(await alarm.locator('.count').textContent()).toBe('2 mails');
    expect(await alarm.locator('.snippet').textContent()).toBe('RESOLVED: checkout-5xx-rate (us-east-1)');
    await page.screenshot({ path: join(screenshotDir, 'outbox-conversations.png'), fullPage: true });

    for (const [subject, file, state] of [
      ['Bitcoin-related domain name queried by EC2 instance', 'outbox-guardduty.png', 'HIGH'],
      ['Pipeline deploy-prod, execution 1a2b3c4d', 'outbox-pipeline-failed.png', 'HIGH'],
    ] as const) {
      await page.goto(`${baseUrl}/`);
      await page.locator('li.mail', { hasText: subject }).locator('a.subject').click();
      await page.waitForURL(/\/messages\/[^/]+$/);
      const mail = page.frameLocator('iframe[title="HTML part of the alert"]');
      await expect.poll(() => mail.locator('h1').textContent()).toContain(subject);
      expect(await mail.locator('p').first().textContent()).toBe(state);
      await page.screenshot({ path: join(screenshotDir, file), fullPage: true });
    }

    await page.goto(`${baseUrl}/`);
    await alarm.locator('a.subject').click();
    await page.waitForURL(/\/threads\/[0-9a-f]{32}$/);
    const mails = page.locator('li.mail');
    expect(await mails.count()).toBe(2);
    expect(await mails.nth(0).locator('strong').textContent()).toBe(
      'CRITICAL: checkout-5xx-rate (us-east-1)',
    );
    expect(await mails.nth(1).locator('strong').textContent()).toBe(
      'RESOLVED: checkout-5xx-rate (us-east-1)',
    );
    const resolved = page.frameLocator('li.mail:nth-child(2) iframe');
    await expect.poll(() => resolved.locator('p').nth(1).textContent()).toMatch(/^OK \(was ALARM\)/);
    await page.screenshot({ path: join(screenshotDir, 'outbox-alarm-thread.png'), fullPage: true });
  });
});

describe.skipIf(!chromiumInstalled)(
  `the outbox page's state section in headless Chromium (${CHROMIUM})`,
  () => {
    let session: LocalStartSession;

    beforeAll(async () => {
      session = await startLocalSession('outbox-state', { width: 1100, height: 900 }, STORM_ENV);
    });

    afterAll(async () => {
      await session?.close();
    });

    it('shows the quota count, the repeat window with its count and the pending digest above the mails, on a desktop and a phone', async () => {
      const storm = await sendGuardStorm(session.baseUrl);
      const page = await session.browser.newPage();
      await mkdir(screenshotDir, { recursive: true });

      await page.goto(`${session.baseUrl}/`);
      const state = page.locator('section.state');
      expect(await state.locator('.quota-summary').textContent()).toBe(
        '8 of 10 recipients in the last 24 h (80 %): folding into digests',
      );
      const window = state.locator('li.window', { hasText: storm.repeatedKey });
      expect(await window.locator('.repeat-count').textContent()).toBe(
        `2 repeats counted since ${pageTime(storm.since)}`,
      );
      const digest = state.locator('li.digest');
      expect(await digest.count()).toBe(1);
      expect(await digest.locator('.folded-count').textContent()).toBe('1 alert');
      const entry = digest.locator('ul.entries li');
      expect(await entry.locator('.badge').textContent()).toBe('critical');
      // The caller's markup is shown as text.
      expect(await entry.textContent()).toMatch(
        /Replica lag <b>31 s<\/b> & rising \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
      );
      expect(await entry.locator('b').count()).toBe(0);
      // Above the mails: the state section comes first in the page.
      expect(
        await page.evaluate<boolean>(
          "document.querySelector('section.state').compareDocumentPosition(document.querySelector('ol.mails:not(.windows):not(.digests)')) === Node.DOCUMENT_POSITION_FOLLOWING",
        ),
      ).toBe(true);
      await page.screenshot({ path: join(screenshotDir, 'outbox-state.png'), fullPage: true });

      await page.setViewportSize({ width: 375, height: 740 });
      await page.goto(`${session.baseUrl}/`);
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
      expect(await page.locator('section.state .quota-summary').isVisible()).toBe(true);
      await page.screenshot({ path: join(screenshotDir, 'outbox-state-phone.png'), fullPage: true });
      expect((await stat(join(screenshotDir, 'outbox-state-phone.png'))).size).toBeGreaterThan(10_000);
    });
  },
);
