import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressTrick, allowedAddress } from './support/arbitraries.ts';
import { alertEvent, deployForSuite, sqsRecord } from './support/deployment.ts';

// ALERT_ALLOWED_RECIPIENTS of every deployment here: one address, one whole domain (no subdomains).
const onAllowList = (address: string) =>
  address === 'oncall@example.com' || /^[a-z0-9_%+-]+(\.[a-z0-9_%+-]+)*@ops\.example\.com$/.test(address);

const suite = deployForSuite();

/** A recipient list mixing allowed addresses and tricks, in any order. */
const recipients = fc.array(
  fc.oneof({ weight: 1, arbitrary: addressTrick }, { weight: 1, arbitrary: allowedAddress }),
  {
    minLength: 1,
    maxLength: 4,
  },
);

const mailsFor = (dedupKey: string) =>
  suite.deployment.gmail.messages.filter((message) => message.parsed.headers.get('x-alert-key') === dedupKey);

describe('never an open relay', () => {
  let sent = 0;
  const answers = { accepted: 0, refused: 0 };

  it('HTTP: a caller reaches only allow-listed addresses, whatever address tricks it sends', async () => {
    await fc.assert(
      fc.asyncProperty(recipients, async (to) => {
        sent += 1;
        const dedupKey = `relay-http-${sent}`;
        const before = suite.deployment.gmail.messages.length;

        const response = await suite.http(JSON.stringify({ subject: 'Relay probe', dedupKey, to }));

        if (response.statusCode === 400) {
          answers.refused += 1;
          expect(suite.deployment.gmail.messages.length).toBe(before);
          const fields = JSON.parse(response.body).error.fields.map(
            (issue: { field: string }) => issue.field,
          );
          expect(fields.every((field: string) => /^to\[\d+\]$/.test(field))).toBe(true);
          return;
        }
        expect(response.statusCode).toBe(200);
        answers.accepted += 1;
        const accepted: string[] = JSON.parse(response.body).accepted;
        const rcpt = mailsFor(dedupKey).flatMap((message) => message.envelope.to);
        expect(rcpt.every(onAllowList)).toBe(true);
        expect(accepted.every(onAllowList)).toBe(true);
        // What was accepted is what the caller asked for, normalised, and nothing else.
        expect(new Set(rcpt)).toEqual(new Set(to.map((address) => address.toLowerCase())));
      }),
      { numRuns: 250 },
    );
    // Both sides of the boundary were exercised, not just refusals.
    expect(answers.accepted).toBeGreaterThan(20);
    expect(answers.refused).toBeGreaterThan(100);
  });

  it('SQS and EventBridge: an alert naming an address outside the allow-list is parked, never sent there', async () => {
    await fc.assert(
      fc.asyncProperty(recipients, fc.boolean(), async (to, viaSqs) => {
        sent += 1;
        const dedupKey = `relay-queued-${sent}`;
        const alert = { subject: 'Relay probe', dedupKey, to };
        const dead = suite.deployment.deadLetters().length;

        if (viaSqs)
          expect(await suite.sqs([sqsRecord(JSON.stringify(alert))])).toEqual({ batchItemFailures: [] });
        else expect(await suite.eventBridge(alertEvent(alert))).toMatch(/^(delivered|parked)$/);

        const rcpt = mailsFor(dedupKey).flatMap((message) => message.envelope.to);
        const parked = suite.deployment.deadLetters().length - dead;
        expect(rcpt.every(onAllowList)).toBe(true);
        expect(rcpt.length > 0 ? 0 : 1).toBe(parked);
      }),
      { numRuns: 150 },
    );
  });

  it('no recipient outside the allow-list ever reached Gmail during the whole run', () => {
    const everyRcpt = suite.deployment.gmail.messages.flatMap((message) => message.envelope.to);
    expect(everyRcpt.length).toBeGreaterThan(0);
    expect(everyRcpt.filter((address) => !onAllowList(address))).toEqual([]);
    expect(everyRcpt.join(' ')).not.toMatch(/evil/);
    // Nor in a header that could address it: every To: header lists only allowed addresses.
    for (const message of suite.deployment.gmail.messages) {
      const headerTo = (Array.isArray(message.parsed.to) ? message.parsed.to : [message.parsed.to]).flatMap(
        (group) => group?.value.map((entry) => entry.address ?? '') ?? [],
      );
      expect(headerTo.every(onAllowList)).toBe(true);
      expect(message.parsed.cc).toBeUndefined();
      expect(message.parsed.bcc).toBeUndefined();
    }
  });
});
