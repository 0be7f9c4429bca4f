import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAlert } from '../../functions/core/alert.ts';
import { eventToAlertInput } from '../../functions/core/event-alert.ts';
import { renderAlert } from '../../functions/core/render.ts';
import { loadEvent } from '../../local/sample-events.ts';
import { CHROMIUM, CHROMIUM_ARGS, hasChromium } from '../support/chromium.ts';

const config = {
  alertTo: ['oncall@example.com'],
  allowedRecipients: { addresses: new Set<string>(), domains: new Set<string>() },
};

/** Alerts whose content is the hardest to fit on a phone: ARNs, long dotted event paths, long tokens. */
function widestAlerts() {
  const alarm = loadEvent<Record<string, unknown>>('eventbridge-alarm');
  return [
    ['a CloudWatch alarm event', parseAlert(eventToAlertInput(alarm as never), config as never)],
    [
      'an alert with a long unbroken token',
      parseAlert(
        {
          subject: `Deploy ${'f'.repeat(120)} failed`,
          text: `sha256:${'0123456789abcdef'.repeat(8)}`,
          fields: {
            [`key.${'nested.'.repeat(12)}leaf`]:
              'arn:aws:lambda:us-east-1:123456789012:function:checkout-api-production-handler',
          },
          links: [{ title: 'Runbook', url: 'https://runbooks.example.com/deploys/failed' }],
        },
        config as never,
      ),
    ],
  ] as const;
}

describe.skipIf(!hasChromium('the mail width browser test'))('the alert mail in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: CHROMIUM_ARGS,
      timeout: 15_000,
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it.each(widestAlerts())(
    'fits %s on a 375 px phone screen, the state and the subject first',
    async (_name, alert) => {
      const page = await browser.newPage({ viewport: { width: 375, height: 800 } });
      try {
        await page.setContent(renderAlert(alert).html);
        const scrollWidth = await page.evaluate<number>('document.documentElement.scrollWidth');
        expect(scrollWidth).toBeLessThanOrEqual(375);
        // What a phone shows first: the state, then the thing that broke.
        const first = page.locator('body > div > *');
        // biome-ignore lint/performance/useDomNodeTextContent: the rendered (upper-case) text is what a reader sees
        expect(await first.nth(0).innerText()).toBe(alert.severity.toUpperCase());
        expect(await first.nth(1).textContent()).toBe(alert.subject);
      } finally {
        await page.close();
      }
    },
  );
});
