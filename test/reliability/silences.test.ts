import type { APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signSilenceToken } from '../../functions/core/silence-token.ts';
import type { ReceivedMessage } from '../../local/gmail-server.ts';
import { signingSecretValue } from '../../local/local-cloud.ts';
import { type Deployment, deploy, type HttpInvoke, SIGNING_KEY, sqsRecord } from './support/deployment.ts';
import { findSecret, signingKeyForms } from './support/leak-search.ts';
import { captureOutput, type OutputCapture } from './support/output-capture.ts';

// The built http and sqs bundles against dynalite, the local Secrets Manager and the Gmail-like server.

const BASE_URL = 'https://alerts.example.com/prod';
const LINK = /Silence… (https:\/\/alerts\.example\.com\/prod\/silences\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+))/;

let output: OutputCapture;
let deployment: Deployment;
let http: HttpInvoke;
const answers: APIGatewayProxyResult[] = [];

beforeAll(async () => {
  output = captureOutput();
  // The signing key is read on every use, so a rotation shows at once; repeats are not counted.
  deployment = await deploy({
    silenceBaseUrl: BASE_URL,
    env: { SECRET_CACHE_SECONDS: '0', ALERT_REPEAT_SECONDS: '0' },
  });
  http = await deployment.http();
});
afterAll(async () => {
  await deployment?.close();
  output?.stop();
});

let serial = 0;
function alertOf(overrides: Record<string, unknown> = {}) {
  serial += 1;
  return {
    subject: `Disk almost full on db-${serial}`,
    severity: 'warning',
    dedupKey: `db-${serial}-disk`,
    ...overrides,
  };
}

async function mailsAfter(before: number, settleMs = 300): Promise<ReceivedMessage[]> {
  // A mail that should not arrive gets a moment to do so anyway.
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  return deployment.gmail.messages.slice(before);
}

async function send(alert: Record<string, unknown>) {
  const answer = await http(JSON.stringify(alert));
  answers.push(answer);
  return answer;
}

/** Sends a keyed alert and returns the mail it became and its link's token. */
async function mailedLink(alert: Record<string, unknown>) {
  const before = deployment.gmail.messages.length;
  expect((await send(alert)).statusCode).toBe(200);
  const [mail] = await mailsAfter(before, 0);
  const match = LINK.exec(mail?.parsed.text ?? '');
  if (!match?.[1] || !match[2]) throw new Error(`no silence link in: ${mail?.parsed.text}`);
  return { mail, url: match[1], token: match[2] };
}

async function page(method: 'GET' | 'POST', token: string, form = '') {
  const answer = await http(form, {
    httpMethod: method,
    path: `/silences/${token}`,
    resource: '/silences/{token}',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    pathParameters: { token },
  });
  answers.push(answer);
  return answer;
}

const silenceItems = async () =>
  ((await deployment.state?.items()) ?? []).filter((item) => String(item.pk).startsWith('silence#'));

describe('the silence link in a mail', () => {
  it('carries a signed link to the API in both parts of a keyed mail, and none in an unkeyed one', async () => {
    const { mail, url } = await mailedLink(alertOf());
    expect(mail?.parsed.html).toContain(`<a href="${url}">Silence…</a>`);

    const before = deployment.gmail.messages.length;
    await send({ subject: 'No key here', severity: 'info' });
    const [unkeyed] = await mailsAfter(before, 0);
    expect(unkeyed?.parsed.text).not.toContain('/silences/');
    expect(String(unkeyed?.parsed.html)).not.toContain('/silences/');
  });
});

describe('the routes of the http function', () => {
  it('answers an alert POSTed to another path as before, and a GET elsewhere with a 404 page', async () => {
    const before = deployment.gmail.messages.length;
    const posted = await http(JSON.stringify({ subject: 'Posted to the root', severity: 'info' }), {
      path: '/',
      resource: '/',
    });
    expect(posted.statusCode).toBe(200);
    expect(await mailsAfter(before, 0)).toHaveLength(1);
    const missing = await http('', { httpMethod: 'GET', path: '/alerts', resource: '/alerts' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers).toMatchObject({ 'Cache-Control': 'no-store' });
  });
});

describe('GET /silences/{token}', () => {
  it('shows the confirmation page and changes nothing: the next alert is mailed', async () => {
    const alert = alertOf();
    const { token } = await mailedLink(alert);
    const itemsBefore = await silenceItems();

    const shown = await page('GET', token);

    expect(shown.statusCode).toBe(200);
    expect(shown.headers).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy':
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
    });
    expect(shown.body).toContain(alert.subject);
    expect(shown.body).toContain(alert.dedupKey);
    expect(shown.body).toContain('name="viewport"');
    for (const value of ['1', '4', '24', 'resolved'])
      expect(shown.body).toContain(`name="hours" value="${value}"`);
    expect(shown.body).not.toContain('End the silence');
    expect(shown.body).not.toMatch(/<script/i);
    expect(await silenceItems()).toEqual(itemsBefore);

    const before = deployment.gmail.messages.length;
    expect((await send(alert)).statusCode).toBe(200);
    expect(await mailsAfter(before)).toHaveLength(1);
  });
});

describe('POST /silences/{token}', () => {
  it('silences that key only, mails its resolved alert, and tells what it hid once ended', async () => {
    const alert = alertOf({ severity: 'critical' });
    const other = alertOf();
    const { token } = await mailedLink(alert);

    const done = await page('POST', token, 'hours=1');
    expect(done.statusCode).toBe(200);
    expect(done.body).toMatch(/Silenced until \d{4}-\d\d-\d\d \d\d:\d\d UTC/);

    const before = deployment.gmail.messages.length;
    const held = await send(alert);
    expect(held.statusCode).toBe(202);
    expect(JSON.parse(held.body)).toMatchObject({ silenced: true, hidden: 1 });
    expect(JSON.parse((await send(alert)).body)).toMatchObject({ silenced: true, hidden: 2 });
    // Through the queue too: the silence is the delivery policy's, not the API's.
    const sqs = await deployment.sqsHandler();
    expect(await sqs([sqsRecord(JSON.stringify(alert))])).toEqual({ batchItemFailures: [] });
    expect((await send(other)).statusCode).toBe(200);
    const mailed = await mailsAfter(before);
    expect(mailed.map((mail) => mail.parsed.subject)).toEqual([other.subject]);

    const shown = await page('GET', token);
    expect(shown.body).toContain('3 alerts have been held back so far');
    expect(shown.body).toContain('End the silence');

    const resolvedBefore = deployment.gmail.messages.length;
    expect((await send({ ...alert, status: 'resolved' })).statusCode).toBe(200);
    expect(await mailsAfter(resolvedBefore, 0)).toHaveLength(1);

    const ended = await page('POST', token, 'end=1');
    expect(ended.statusCode).toBe(200);
    expect(ended.body).toContain('The silence has ended');
    const after = deployment.gmail.messages.length;
    expect((await send(alert)).statusCode).toBe(200);
    const [next] = await mailsAfter(after, 0);
    expect(next?.parsed.text).toMatch(/3 alerts were hidden by a silence since \d{4}-\d\d-\d\dT/);
    // Told once.
    const again = deployment.gmail.messages.length;
    await send(alert);
    const [later] = await mailsAfter(again, 0);
    expect(later?.parsed.text).not.toContain('hidden by a silence');
  });

  it('silences until resolved: the resolved alert is mailed, tells the count and ends the silence', async () => {
    const alert = alertOf();
    const { token } = await mailedLink(alert);
    expect((await page('POST', token, 'hours=resolved')).body).toContain(
      'Silenced until the alert is resolved',
    );
    expect(JSON.parse((await send(alert)).body)).toMatchObject({ silenced: true });

    const before = deployment.gmail.messages.length;
    expect((await send({ ...alert, status: 'resolved' })).statusCode).toBe(200);
    const [resolved] = await mailsAfter(before, 0);
    expect(resolved?.parsed.text).toMatch(/^RESOLVED: /);
    expect(resolved?.parsed.text).toContain('1 alert was hidden by a silence');
    expect((await send(alert)).statusCode).toBe(200);
  });

  it('refuses a choice the page does not offer and changes nothing', async () => {
    const alert = alertOf();
    const { token } = await mailedLink(alert);
    for (const form of ['', 'hours=2', 'hours=1000000', 'minutes=5']) {
      expect((await page('POST', token, form)).statusCode).toBe(400);
    }
    expect((await silenceItems()).map((item) => item.pk)).not.toContain(`silence#${alert.dedupKey}`);
  });
});

describe('a refused link', () => {
  const flip = (text: string, at: number) =>
    `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;

  it('is refused on both methods when tampered with or expired, and says why without naming the key', async () => {
    const alert = alertOf();
    const { token } = await mailedLink(alert);
    const [payload = '', signature = ''] = token.split('.');
    // Another key in the payload, with the original signature.
    const otherKey = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), k: 'db-other-disk' }),
    ).toString('base64url');
    const expired = signSilenceToken(
      {
        key: alert.dedupKey,
        subject: alert.subject,
        scope: 'gmail-alerts',
        expiresAt: Math.floor(Date.now() / 1000) - 1,
      },
      SIGNING_KEY,
    );
    const otherStack = signSilenceToken(
      {
        key: alert.dedupKey,
        subject: alert.subject,
        scope: 'other-stack',
        expiresAt: Math.floor(Date.now() / 1000) + 60,
      },
      SIGNING_KEY,
    );
    const forged = signSilenceToken(
      {
        key: alert.dedupKey,
        subject: alert.subject,
        scope: 'gmail-alerts',
        expiresAt: Math.floor(Date.now() / 1000) + 60,
      },
      'a-key-that-is-not-the-signing-key-of-this-stack',
    );
    const refused: [string, number, string][] = [
      [`${payload}.${flip(signature, 5)}`, 403, 'This link is not valid'],
      [`${otherKey}.${signature}`, 403, 'This link is not valid'],
      [forged, 403, 'This link is not valid'],
      [token.slice(0, -4), 403, 'This link is not valid'],
      ['not-a-token', 403, 'This link is not valid'],
      [otherStack, 403, 'This link is not valid here'],
      [expired, 410, 'This link has expired'],
    ];
    for (const [bad, status, heading] of refused) {
      for (const method of ['GET', 'POST'] as const) {
        const answer = await page(method, bad, 'hours=24');
        expect({ bad, method, status: answer.statusCode }).toEqual({ bad, method, status });
        expect(answer.body).toContain(heading);
        expect(answer.body).not.toContain(alert.dedupKey);
        expect(answer.headers).toMatchObject({ 'Cache-Control': 'no-store' });
      }
    }
    expect((await silenceItems()).map((item) => item.pk)).not.toContain(`silence#${alert.dedupKey}`);
    const before = deployment.gmail.messages.length;
    expect((await send(alert)).statusCode).toBe(200);
    expect(await mailsAfter(before)).toHaveLength(1);
  });
});

describe('rotation of the signing key', () => {
  it('keeps a link signed with the previous key valid, and refuses one two rotations old', async () => {
    const { token: old } = await mailedLink(alertOf());
    deployment.secrets.setSecret(
      deployment.signingSecretId,
      signingSecretValue('rotated-key-one-0123456789abcdefghijklmnopq'),
    );

    expect((await page('GET', old)).statusCode).toBe(200);
    const { token: fresh } = await mailedLink(alertOf());
    expect(fresh.split('.')[1]).not.toBe(old.split('.')[1]);
    expect((await page('GET', fresh)).statusCode).toBe(200);

    deployment.secrets.setSecret(
      deployment.signingSecretId,
      signingSecretValue('rotated-key-two-0123456789abcdefghijklmnopq'),
    );
    expect((await page('GET', fresh)).statusCode).toBe(200);
    expect((await page('GET', old)).statusCode).toBe(403);
  });
});

describe('the signing key', () => {
  it('is read once per container while it is cached, not once per mail', async () => {
    // The default cache, not this file's zero.
    const cached = await deploy({
      silenceBaseUrl: BASE_URL,
      env: { ALERT_REPEAT_SECONDS: '0', SECRET_CACHE_SECONDS: undefined },
    });
    try {
      const sqs = await cached.sqsHandler();
      const records = [1, 2, 3].map((serial) =>
        sqsRecord(JSON.stringify({ subject: `Replica lag ${serial}`, dedupKey: `replica-${serial}` })),
      );
      for (const record of records) expect(await sqs([record])).toEqual({ batchItemFailures: [] });

      expect(cached.gmail.messages.map((mail) => LINK.test(mail.parsed.text ?? ''))).toEqual([
        true,
        true,
        true,
      ]);
      // Its current version, read at init; the first alert shares that read. Signing needs no other
      // version: the previous one is read only where links are checked.
      expect(cached.secrets.callsFor(cached.signingSecretId)).toBe(1);
    } finally {
      await cached.close();
    }
  });

  it('never appears in a mail, an answer or the output', async () => {
    const forms = signingKeyForms(SIGNING_KEY);
    const places = [
      ...deployment.gmail.messages.map((mail, index) => ({
        where: `mail ${index}`,
        text: mail.raw.toString(),
      })),
      ...answers.map((answer, index) => ({ where: `answer ${index}`, text: JSON.stringify(answer) })),
      { where: 'output', text: output.text() },
    ];
    expect(places.length).toBeGreaterThan(10);
    expect(
      places.flatMap((place) => findSecret(place.text, forms).map((form) => `${form} in ${place.where}`)),
    ).toEqual([]);
    // Every silence was kept in the table, not skipped past a failing one.
    expect(output.text()).not.toContain('Alert state store failed');
    // The search itself finds the key where it is.
    expect(findSecret(`{"key":"${SIGNING_KEY}"}`, forms)).toContain('signing key');
  });
});
