// The outbox page's state section from a given view: the cases a short local run rarely reaches
// (a hold, a window that ended with repeats still to tell) and what the table hands over as text.
import { describe, expect, it } from 'vitest';
import { outboxPage } from '../../scripts/lib/outbox-page.ts';
import type { StateView } from '../../scripts/lib/state-view.ts';

const at = (iso: string) => Date.parse(iso);

const view: StateView = {
  quota: { used: 499, limit: 500, percent: 99, verdict: 'hold' },
  repeatWindows: [
    {
      key: 'db-1<script>',
      severity: 'high',
      lastMailAt: at('2026-11-25T08:00:00Z'),
      endsAt: at('2026-11-25T12:00:00Z'),
      ended: true,
      repeats: 3,
      since: at('2026-11-25T08:10:00Z'),
    },
  ],
  digests: [
    {
      recipients: ['oncall@example.com', 'team@example.com'],
      entries: [
        {
          subject: 'Queue <i>backlog</i>',
          severity: 'warning',
          status: 'firing',
          time: '2026-11-25T16:45:01.000Z',
        },
        {
          subject: 'Queue backlog',
          severity: 'warning',
          status: 'resolved',
          time: '2026-11-25T16:47:00.000Z',
        },
      ],
      sendsAt: undefined,
    },
  ],
  silences: [],
};

const render = (state: StateView | undefined) =>
  outboxPage({
    entries: [],
    deadLetters: [],
    outboxDir: '.outbox',
    curl: 'curl …',
    ...(state ? { state } : {}),
  });

describe('outboxPage state section', () => {
  it('says the guard is holding, and what that means for new alerts', () => {
    const html = render(view);

    expect(html).toContain(
      '<span class="subject quota-summary">499 of 500 recipients in the last 24 h (99 %): holding</span>',
    );
    expect(html).toContain('new alerts wait on the alerts queue until the 24 h window has room');
  });

  it("tells a window that ended with its repeats still to go out in the key's next mail", () => {
    const html = render(view);

    expect(html).toContain('<code>db-1&lt;script&gt;</code>');
    expect(html).toContain(
      '<span class="repeat-count">3 repeats counted since 2026-11-25 08:10:00 UTC</span> · window ended 2026-11-25 12:00:00 UTC; the count goes out with the key\'s next mail',
    );
    expect(html).not.toContain('<script>');
  });

  it('lists a digest with every folded alert, escaped, and says when no sending is scheduled', () => {
    const html = render(view);

    expect(html).toContain(
      '<span class="folded-count">2 alerts</span> folded for oncall@example.com, team@example.com',
    );
    expect(html).toContain('no sending scheduled yet');
    expect(html).toContain(
      'Queue &lt;i&gt;backlog&lt;/i&gt; <span class="meta">2026-11-25 16:45:01 UTC</span>',
    );
    expect(html).toContain('<span class="badge">resolved</span>Queue backlog');
  });

  it('leaves the section out when there is no state table', () => {
    expect(render(undefined)).not.toContain('class="state"');
  });
});
