import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Alert, parseAlert } from '../../functions/core/alert.ts';
import { alertFromEvent } from '../../functions/core/event-alert.ts';
import type { AnyEvent } from '../../functions/core/formatters/types.ts';
import { renderAlert, stateLabel } from '../../functions/core/render.ts';
import { loadEvent } from '../../local/sample-events.ts';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/chromium.ts';

const config = {
  alertTo: ['oncall@example.com'],
  allowedRecipients: { addresses: new Set<string>(), domains: new Set<string>() },
};
const SCREENSHOTS = join(import.meta.dirname, '../../test-results/mail-width');
const PHONE = { width: 375, height: 800 };

const unbroken = (length: number) => 'x'.repeat(length);

/** Every formatter's fixture, as the mail it becomes. */
function fixtureAlerts(): [string, Alert][] {
  return readdirSync(join(import.meta.dirname, '../../events'))
    .filter((name) => name.startsWith('eventbridge-') && name.endsWith('.json'))
    .sort()
    .map((name) => [name, alertFromEvent(loadEvent<AnyEvent>(name.slice(0, -5)), config as never)]);
}

/** Values that are the hardest to fit on a phone: long unbroken names, values, tokens and URLs. */
function hostileAlerts(): [string, Alert][] {
  const alarm = loadEvent<AnyEvent>('eventbridge-alarm');
  const longUrl = `https://runbooks.example.com/${'deploys/'.repeat(60)}failed?token=${unbroken(400)}`;
  return [
    [
      'an alert with long unbroken names, values, text and URLs',
      parseAlert(
        {
          subject: `Deploy ${'f'.repeat(190)}`,
          text: `sha256:${'0123456789abcdef'.repeat(40)}`,
          dedupKey: unbroken(200),
          source: unbroken(200),
          fields: {
            [unbroken(100)]: unbroken(2000),
            [`key.${'nested.'.repeat(12)}leaf`]:
              'arn:aws:lambda:us-east-1:123456789012:function:checkout-api-production-handler',
          },
          links: [{ title: unbroken(200), url: longUrl }],
        },
        config as never,
      ),
    ],
    [
      'an alarm whose names and reason never break',
      alertFromEvent(
        {
          ...alarm,
          detail: {
            ...(alarm.detail as object),
            alarmName: unbroken(255),
            state: { value: 'ALARM', reason: unbroken(3000) },
          },
        },
        config as never,
      ),
    ],
    [
      'an unknown event with a long member name and value',
      alertFromEvent(
        { ...loadEvent<AnyEvent>('eventbridge-unknown'), detail: { [unbroken(300)]: unbroken(5000) } },
        config as never,
      ),
    ],
  ];
}

describe.skipIf(!hasChromium('the mail width browser test'))('the alert mail in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 15_000 });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each([...fixtureAlerts(), ...hostileAlerts()])(
    'fits %s on a 375 px phone screen, the state and the subject first, the event block open or not',
    async (name, alert) => {
      const page = await browser.newPage({ viewport: PHONE });
      try {
        await page.setContent(renderAlert(alert).html);
        const width = () => page.evaluate<number>('document.documentElement.scrollWidth');
        expect(await width()).toBeLessThanOrEqual(PHONE.width);
        // What a phone shows first: the state, then the thing that broke.
        const first = page.locator('body > div > *');
        // biome-ignore lint/performance/useDomNodeTextContent: the rendered (upper-case) text is what a reader sees
        expect(await first.nth(0).innerText()).toBe(stateLabel(alert));
        expect(await first.nth(1).textContent()).toBe(alert.subject);
        if (name.startsWith('eventbridge-')) {
          await page.screenshot({ path: join(SCREENSHOTS, `${name.slice(0, -5)}.png`), fullPage: true });
        }
        // Readers without <details> show the event open: it must fit then too.
        await page.evaluate('document.querySelectorAll("details").forEach((d) => { d.open = true; })');
        expect(await width()).toBeLessThanOrEqual(PHONE.width);
      } finally {
        await page.close();
      }
    },
  );

  it('keeps the mail a readable column on a desktop screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await page.setContent(
        renderAlert(alertFromEvent(loadEvent<AnyEvent>('eventbridge-alarm'), config as never)).html,
      );
      const box = await page.locator('body > div').boundingBox();
      expect(box?.width).toBeLessThanOrEqual(700);
      expect(box?.width).toBeGreaterThan(500);
    } finally {
      await page.close();
    }
  });
});
