import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { jsonText } from '../../local/json-text.ts';
import { type LambdaHost, startLambdaHost } from '../../local/lambda-host.ts';
import { type LocalCloud, startLocalCloud } from '../../local/local-cloud.ts';
import { loadEvent } from '../../local/sample-events.ts';

const DEPTH = 10_000;
/** `[[[…]]]` DEPTH levels deep, built without recursion. */
const deepArray = (depth: number): unknown[] => {
  let value: unknown[] = [];
  for (let level = 1; level < depth; level += 1) value = [value];
  return value;
};

const alertEvent = (detail: unknown) => ({
  version: '0',
  id: crypto.randomUUID(),
  'detail-type': 'Local host test',
  source: 'local.test',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [],
  detail,
});

const isRunning = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('jsonText', () => {
  it('writes what JSON.stringify writes for ordinary values', () => {
    const value = { a: [1, 'two', null, { b: true }], c: undefined, d: new Date(0) };

    expect(jsonText(value)).toBe(JSON.stringify(value));
  });

  it('writes values too deep for JSON.stringify, which JSON.parse reads back', () => {
    const value = { detail: deepArray(DEPTH) };
    expect(() => JSON.stringify(value)).toThrow(RangeError);

    const text = jsonText(value);

    expect(text).toBe(`{"detail":${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}}`);
    expect(JSON.parse(text)).toHaveProperty('detail');
  });
});

describe('local Lambda host', () => {
  let cloud: LocalCloud;
  let host: LambdaHost | undefined;
  beforeAll(async () => {
    cloud = await startLocalCloud({ freshCa: true, settings: { logLevel: 'ERROR' } });
  });
  afterEach(async () => {
    await host?.close();
    host = undefined;
  });
  afterAll(() => cloud.close());

  it('passes a 10,000-deep event to the handler and its sandbox stays up for the next alert', async () => {
    host = await startLambdaHost({ env: cloud.env, preload: ['eventbridge'] });
    const pid = host.pid;

    const deep = await host.invoke('eventbridge', alertEvent({ detail: deepArray(DEPTH) }));
    const next = await host.invoke(
      'eventbridge',
      alertEvent({ subject: 'After the deep one', text: 'still up' }),
    );

    // Whatever the handler makes of it, the host delivered it and got an answer back.
    if (!deep.ok) expect(deep.error.errorType).not.toMatch(/^(Runtime\.ExitError|Sandbox\.Timedout)$/);
    expect(next).toMatchObject({ ok: true, result: 'delivered' });
    expect(host.pid).toBe(pid);
    expect(cloud.gmail.messages.at(-1)?.parsed.subject).toContain('After the deep one');
  });

  it('kills a timed-out sandbox before it starts the next one', async () => {
    // 1 ms: no invocation that talks SMTP can finish in time.
    host = await startLambdaHost({
      env: cloud.env,
      preload: ['eventbridge', 'http'],
      timeoutsMs: { eventbridge: 1 },
    });
    const first = host.pid as number;

    const timedOut = await host.invoke('eventbridge', alertEvent({ subject: 'Too slow', text: 'times out' }));
    const next = await host.invoke<{ statusCode: number }>('http', loadEvent('http-alert'));

    expect(timedOut).toMatchObject({ ok: false, error: { errorType: 'Sandbox.Timedout' } });
    expect(next).toMatchObject({ ok: true, result: { statusCode: 200 } });
    expect(isRunning(first)).toBe(false);
    expect(host.pid).toBeGreaterThan(0);
    expect(host.pid).not.toBe(first);
  });
});
