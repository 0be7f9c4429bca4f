import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { alertFromEvent } from '../../../functions/core/event-alert.ts';
import { renderAlert } from '../../../functions/core/render.ts';
import { loadEvent } from './fixtures.ts';

const FIXTURES = readdirSync(join(import.meta.dirname, '../../../events'))
  .filter((name) => name.startsWith('eventbridge-') && name.endsWith('.json'))
  .map((name) => name.slice(0, -'.json'.length))
  .sort();

const config = {
  alertTo: ['oncall@example.com'],
  allowedRecipients: { addresses: new Set(['oncall@example.com']), domains: new Set<string>() },
};

// Golden files: a change to what a formatter or the template writes shows up as a diff of these
// files, read by a person before it is accepted (`npx vitest run -u` rewrites them; CI never does).
describe('the text part of every EventBridge fixture', () => {
  it('covers every formatter fixture there is', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(20);
  });

  it.each(FIXTURES)('%s matches its golden file', async (name) => {
    const rendered = renderAlert(alertFromEvent(loadEvent(name), config));
    await expect(`Subject: ${rendered.subject}\n\n${rendered.text}`).toMatchFileSnapshot(
      join(import.meta.dirname, 'golden', `${name}.txt`),
    );
  });

  it.each(FIXTURES)('%s stays short enough to read on a phone', (name) => {
    const { text } = renderAlert(alertFromEvent(loadEvent(name), config));
    // Headline, summary, at most 15 facts, links and the footer.
    expect(text.split('\n').length).toBeLessThanOrEqual(45);
  });
});
