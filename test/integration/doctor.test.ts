import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authPlainToken } from '../../functions/core/gmail-credentials.ts';
import { QuotaGuard } from '../../functions/core/quota-guard.ts';
import type { DiagnosisReport } from '../../functions/doctor/diagnose.ts';
import type { DoctorEvent } from '../../functions/doctor/handler.ts';
import { type GmailServer, startGmailServer, testGmailAccount } from '../../local/gmail-server.ts';
import { createLambdaContext } from '../../local/lambda-context.ts';
import { type OAuthEndpoint, startOAuthEndpoint, testOAuthClient } from '../../local/oauth-endpoint.ts';
import { startSecretsEndpoint } from '../../local/secrets-endpoint.ts';
import { type StateTableEndpoint, startStateTable } from '../../local/state-table.ts';
import { createUntrustedCertificate } from '../../local/tls.ts';
import { coldStart } from '../support/lambda-bundle.ts';
import { runScript, type ScriptRun } from '../support/run-script.ts';

// Spaced as Google shows it; the server knows it without spaces.
const appPassword = 'abcd efgh ijkl mnop';
const wrongAppPassword = 'zyxw vuts rqpo nmlk';
const everyOutput: string[] = [];

/** Runs `scripts/doctor.ts` as `npm run doctor` does, with only the given configuration in its environment. */
async function runDoctor(env: Record<string, string>, args: string[] = []): Promise<ScriptRun> {
  const run = await runScript('doctor.ts', args, {
    PATH: process.env.PATH ?? '',
    // The loopback server's CA, trusted the standard way (set by the global setup).
    NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ?? '',
    NO_COLOR: '1',
    ...env,
  });
  everyOutput.push(run.stdout, run.stderr);
  return run;
}

const direct = (server: { port: number }, password = appPassword) => ({
  SMTP_HOST: '127.0.0.1',
  SMTP_PORT: String(server.port),
  GMAIL_USER: testGmailAccount.user,
  GMAIL_APP_PASSWORD: password,
});

/** The line of a step: `✓ AUTH …`, `! Quota guard …` or `✗ AUTH` followed by its cause and fix lines. */
const stepLines = (stdout: string, title: string) => {
  const lines = stdout.split('\n');
  const index = lines.findIndex((line) => new RegExp(`^[✓!✗–] ${title}\\b`).test(line));
  return index < 0 ? '' : lines.slice(index, index + 3).join('\n');
};

/** A port nothing listens on: one this test bound and closed again, whatever else the machine runs. */
async function closedPort(): Promise<number> {
  const server = createTcpServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A server that accepts connections and never says a word, as a path that holds SMTP does. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Credentials for the loopback AWS endpoints, which accept any. */
const localAws = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDLOCAL', AWS_SECRET_ACCESS_KEY: 'local' };

const servers: GmailServer[] = [];
async function gmail(options: Parameters<typeof startGmailServer>[0] = {}): Promise<GmailServer> {
  const server = await startGmailServer(options);
  servers.push(server);
  return server;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  // The App Password never appears in any output: neither as typed, nor stripped, nor inside AUTH PLAIN.
  const all = everyOutput.join('\n');
  for (const password of [appPassword, wrongAppPassword]) {
    const bare = password.replaceAll(' ', '');
    expect(all).not.toContain(password);
    expect(all).not.toContain(bare);
    expect(all).not.toContain(authPlainToken({ username: testGmailAccount.user, password: bare }));
  }
});

// One doctor process at a time, each with room to start on a busy machine: these tests check what the
// doctor says, not how fast it says it.
describe('npm run doctor against the loopback Gmail-like server', { timeout: 60_000 }, () => {
  it('passes every step with the right App Password and exits 0', async () => {
    const server = await gmail();

    const run = await runDoctor(direct(server));

    expect(run.code).toBe(0);
    for (const title of [
      'Configuration',
      'App Password shape',
      'DNS lookup',
      'TCP reach',
      'TLS mode',
      'Certificate',
      'AUTH',
    ]) {
      expect(stepLines(run.stdout, title)).toMatch(new RegExp(`^✓ ${title} +\\d+ ms`));
    }
    expect(stepLines(run.stdout, 'TLS mode')).toContain('offers STARTTLS (as on 587)');
    expect(stepLines(run.stdout, 'Certificate')).toContain('issued by gmail-alerts test CA');
    expect(stepLines(run.stdout, 'Test message')).toContain('skipped');
    expect(stepLines(run.stdout, 'Quota guard')).toMatch(
      /^– Quota guard +skipped: ALERT_STATE_TABLE is not set: the functions keep no count$/m,
    );
    expect(run.stdout).toContain('All checks passed in');
    expect(server.stats.authSuccesses).toBe(1);
    expect(server.messages).toHaveLength(0);
  });

  it('sends a test alert with --to, through the same sender the functions use', async () => {
    const server = await gmail();

    const run = await runDoctor({ ...direct(server), SMTP_HOST: 'localhost' }, ['--to', 'me@example.net']);
    const [message] = await server.waitForMessages(1);

    expect(run.code).toBe(0);
    expect(stepLines(run.stdout, 'DNS lookup')).toContain('localhost →');
    expect(stepLines(run.stdout, 'Test message')).toMatch(/^✓ Test message .*sent to me@example\.net/);
    expect(message?.envelope.to).toEqual(['me@example.net']);
    expect(message?.parsed.subject).toBe('[INFO] Test alert from the gmail-alerts doctor');
  });

  it('fails at AUTH with the App Password procedure on a wrong password, after one attempt', async () => {
    const server = await gmail();

    const run = await runDoctor(direct(server, wrongAppPassword), ['--to', 'me@example.net']);

    expect(run.code).toBe(1);
    const auth = stepLines(run.stdout, 'AUTH');
    expect(auth).toMatch(/^✗ AUTH/);
    expect(auth).toContain('cause: Gmail refused the username or App Password');
    expect(auth).toContain('535 5.7.8 Username and Password not accepted');
    expect(auth).toMatch(
      /fix: +Turn on 2-Step Verification .*create an App Password under Google Account → Security → App passwords.*use the full address \(alerts@example\.com\) as the username/,
    );
    expect(run.stdout).not.toMatch(/^. Test message/m);
    expect(run.stdout).toContain('Stopped at "AUTH"');
    expect(server.stats.authAttempts).toBe(1);
    expect(server.messages).toHaveLength(0);
  });

  it('flags an account password by its shape before any login attempt', async () => {
    const server = await gmail();

    const run = await runDoctor(direct(server, 'Summer2026!'));

    expect(run.code).toBe(1);
    const shape = stepLines(run.stdout, 'App Password shape');
    expect(shape).toContain('looks like an account password, not a 16-letter App Password');
    expect(shape).toContain('2-Step Verification');
    expect(run.stdout).not.toContain('Summer2026!');
    expect(server.stats.connections).toBe(0);
  });

  it('names outbound blocking for a port that refuses the connection', async () => {
    const port = await closedPort();

    const run = await runDoctor(direct({ port }), ['--timeout', '2000']);

    expect(run.code).toBe(1);
    const tcp = stepLines(run.stdout, 'TCP reach');
    expect(tcp).toMatch(/^✗ TCP reach/);
    expect(tcp).toContain(`127.0.0.1:${port} refused the connection (ECONNREFUSED)`);
    expect(tcp).toMatch(/firewall rejects outbound TCP \d+/);
    expect(tcp).toMatch(/fix: +Allow outbound TCP \d+ .*security group.*NAT gateway.*corporate firewall/);
    expect(tcp).not.toContain('port 25');
  });

  it('names a port that accepts but never greets, with the timeout it was given', async () => {
    const silent = await silentServer();

    const run = await runDoctor(direct(silent), ['--timeout', '1000']);
    await silent.close();

    expect(run.code).toBe(1);
    expect(stepLines(run.stdout, 'TCP reach')).toMatch(/^✓ TCP reach/);
    const mode = stepLines(run.stdout, 'TLS mode');
    expect(mode).toMatch(/^✗ TLS mode/);
    expect(mode).toContain(`Connected to 127.0.0.1:${silent.port}, but no SMTP greeting within 1 s`);
    expect(mode).toMatch(/fix: +A firewall or proxy may be holding SMTP connections/);
  });

  it('names the TLS-mode mismatch: implicit TLS configured, the port speaks STARTTLS (465 vs 587)', async () => {
    const server = await gmail();

    const run = await runDoctor({ ...direct(server), SMTP_SECURE: 'true' });

    expect(run.code).toBe(1);
    const mode = stepLines(run.stdout, 'TLS mode');
    expect(mode).toMatch(/^✗ TLS mode/);
    expect(mode).toContain('TLS mode mismatch: SMTP_SECURE=true expects implicit TLS (as on 465)');
    expect(mode).toContain('greets in plain text and expects STARTTLS (as on 587)');
    expect(mode).toContain('"wrong version number"');
    expect(mode).toMatch(
      /fix: +Use SMTP_SECURE=false for port \d+ \(STARTTLS\), or port 465 with SMTP_SECURE=true/,
    );
    expect(server.stats.authAttempts).toBe(0);
  });

  it('names the TLS-mode mismatch: STARTTLS configured, the port speaks implicit TLS (587 vs 465)', async () => {
    const server = await gmail({ secure: true });

    // The silent greeting costs one timeout; the TLS handshake that follows has the same bound.
    const run = await runDoctor(direct(server), ['--timeout', '3000']);

    expect(run.code).toBe(1);
    const mode = stepLines(run.stdout, 'TLS mode');
    expect(mode).toContain(
      'TLS mode mismatch: SMTP_SECURE=false expects a plain-text greeting and STARTTLS (as on 587)',
    );
    expect(mode).toContain('speaks implicit TLS (as on 465)');
    expect(mode).toMatch(
      /fix: +Use SMTP_SECURE=true for port \d+ \(implicit TLS\), or port 587 with SMTP_SECURE=false/,
    );
    expect(server.stats.authAttempts).toBe(0);
  });

  it('passes over implicit TLS when the port is configured for it', async () => {
    const server = await gmail({ secure: true });

    const run = await runDoctor({ ...direct(server), SMTP_SECURE: 'true' });

    expect(run.code).toBe(0);
    expect(stepLines(run.stdout, 'TLS mode')).toContain('speaks TLS from the first byte (as on 465)');
    expect(server.stats.authSuccesses).toBe(1);
  });

  it('names the mismatch of 587 with SMTP_SECURE=true from the configuration alone', async () => {
    const run = await runDoctor({ ...direct({ port: 587 }), SMTP_SECURE: 'true' });

    expect(run.code).toBe(1);
    const config = stepLines(run.stdout, 'Configuration');
    expect(config).toContain('TLS mode mismatch: SMTP_SECURE: is true, but port 587 starts in plain text');
    expect(config).toContain('Use SMTP_SECURE=false with 587, or port 465.');
  });

  it('refuses a certificate that no trusted CA signed, without turning verification off', async () => {
    const untrusted = await createUntrustedCertificate();
    const server = await gmail({ tls: { cert: untrusted.certPem, key: untrusted.keyPem } });

    const run = await runDoctor(direct(server));

    expect(run.code).toBe(1);
    const certificate = stepLines(run.stdout, 'Certificate');
    expect(certificate).toContain('is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(certificate).toContain('NODE_EXTRA_CA_CERTS. Never turn verification off.');
    expect(server.stats.authAttempts).toBe(0);
  });

  it('notices a path that strips STARTTLS and never sends the password in the clear', async () => {
    const server = await gmail({ offerStartTls: false });

    const run = await runDoctor(direct(server));

    expect(run.code).toBe(1);
    expect(stepLines(run.stdout, 'TLS mode')).toContain('does not offer STARTTLS');
    expect(server.stats.authAttempts).toBe(0);
  });

  it('reads the credentials from Secrets Manager with GMAIL_SECRET_ID', async () => {
    const server = await gmail();
    const secrets = await startSecretsEndpoint({
      secrets: {
        'prod/gmail-alerts': JSON.stringify({ username: testGmailAccount.user, password: appPassword }),
      },
    });
    const aws = {
      ...localAws,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(server.port),
    };

    const [found, missing] = await Promise.all([
      runDoctor({ ...aws, GMAIL_SECRET_ID: 'prod/gmail-alerts' }),
      runDoctor({ ...aws, GMAIL_SECRET_ID: 'prod/nope' }),
    ]);
    await secrets.close();

    expect(found.code).toBe(0);
    expect(stepLines(found.stdout, 'Secret readable')).toContain(
      'prod/gmail-alerts: username alerts@example.com',
    );
    expect(missing.code).toBe(1);
    expect(stepLines(missing.stdout, 'Secret readable')).toContain('ResourceNotFoundException');
    expect(stepLines(missing.stdout, 'Secret readable')).toMatch(/fix: +Check the secret name\/ARN/);
  });

  it('answers --help and refuses an unknown option with exit code 2', async () => {
    const [help, wrong] = await Promise.all([runDoctor({}, ['--help']), runDoctor({}, ['--frobnicate'])]);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: npm run doctor');
    expect(help.stdout).toContain('--deployed');
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain("Unknown option '--frobnicate'");
  });
});

describe("npm run doctor reports the quota guard's count from the state table", { timeout: 60_000 }, () => {
  const HOUR_MS = 60 * 60 * 1000;
  let table: StateTableEndpoint;

  /** The loopback Gmail, and the state table where the functions would have counted. */
  const withTable = (server: GmailServer, extra: Record<string, string> = {}) => ({
    ...direct(server),
    ...localAws,
    ALERT_STATE_TABLE: table.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: table.url,
    ...extra,
  });

  beforeAll(async () => {
    table = await startStateTable();
    // Counted by the guard itself, as the functions count: 200 this hour and 112 three hours ago are
    // in Gmail's rolling 24 h; 50 from 26 hours ago are not.
    const guardAt = (agoMs: number) => new QuotaGuard(table.clients, 500, () => Date.now() - agoMs);
    await guardAt(0).record(200);
    await guardAt(3 * HOUR_MS).record(112);
    await guardAt(26 * HOUR_MS).record(50);
  });

  afterAll(async () => {
    await table?.close();
  });

  it('says how many recipients of GMAIL_DAILY_LIMIT were used, and that the guard is sending', async () => {
    const server = await gmail();

    const run = await runDoctor(withTable(server));

    expect(run.code).toBe(0);
    expect(stepLines(run.stdout, 'Quota guard')).toMatch(
      /^✓ Quota guard +\d+ ms {2}312 of 500 recipients in the last 24 h \(62 %\): sending$/m,
    );
    expect(stepLines(run.stdout, 'Quota guard')).not.toContain('fix:');
    expect(run.stdout).toMatch(/All checks passed in [\d.]+ m?s\.$/m);
  });

  it('warns from 80 % (folding into digests) and at the limit (holding), without failing the diagnosis', async () => {
    const server = await gmail();

    const folding = await runDoctor(withTable(server, { GMAIL_DAILY_LIMIT: '380' }));
    const holding = await runDoctor(withTable(server, { GMAIL_DAILY_LIMIT: '312' }));

    expect(folding.code).toBe(0);
    const fold = stepLines(folding.stdout, 'Quota guard');
    expect(fold).toMatch(
      /^! Quota guard +\d+ ms {2}312 of 380 recipients in the last 24 h \(82 %\): folding into digests\n/,
    );
    expect(fold).toMatch(
      / {4}fix: +New alerts are folded into one digest per recipient list, sent 5 minutes/,
    );
    expect(folding.stdout).toContain('All checks passed');
    expect(folding.stdout).toContain('with a warning at "Quota guard"');
    expect(holding.code).toBe(0);
    const hold = stepLines(holding.stdout, 'Quota guard');
    expect(hold).toMatch(/^! Quota guard .*312 of 312 recipients in the last 24 h \(100 %\): holding\n/);
    expect(hold).toContain('New alerts wait on the alerts queue until the 24-hour window has room');
    // The Gmail checks ran all the same.
    expect(stepLines(holding.stdout, 'AUTH')).toMatch(/^✓ AUTH/);
  });

  it('says when the table cannot be read, with the fix, and still checks Gmail', async () => {
    const server = await gmail();
    const silent = await silentServer();
    const refusing = await closedPort();

    const missing = await runDoctor(withTable(server, { ALERT_STATE_TABLE: 'no-such-table' }));
    const unreachable = await runDoctor(
      withTable(server, { AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${refusing}` }),
    );
    const hanging = await runDoctor(
      withTable(server, { AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${silent.port}` }),
      ['--timeout', '1000'],
    );
    await silent.close();

    for (const run of [missing, unreachable, hanging]) {
      expect(run.code).toBe(0);
      expect(stepLines(run.stdout, 'AUTH')).toMatch(/^✓ AUTH/);
      expect(run.stdout).toContain('with a warning at "Quota guard"');
    }
    const notFound = stepLines(missing.stdout, 'Quota guard');
    expect(notFound).toMatch(
      /^! Quota guard .*No table no-such-table in this account and region \(ResourceNotFoundException\)\n/,
    );
    expect(notFound).toMatch(/fix: +Set ALERT_STATE_TABLE to the stack's state table/);
    const refused = stepLines(unreachable.stdout, 'Quota guard');
    expect(refused).toMatch(
      /^! Quota guard .*The state table gmail-alerts-state could not be read \(ECONNREFUSED\)/,
    );
    expect(refused).toMatch(/fix: +Check AWS credentials and AWS_REGION; inside a VPC, DynamoDB needs/);
    expect(stepLines(hanging.stdout, 'Quota guard')).toMatch(
      /^! Quota guard +1\.\d s {2}The state table gmail-alerts-state did not answer within 1 s\n/,
    );
  });
});

describe('the deployed doctor function (built bundle)', { timeout: 60_000 }, () => {
  const secretId = 'prod/gmail-alerts';

  /** The deployed function's environment: the secret on the loopback endpoint, the loopback Gmail. */
  const functionEnv = (server: GmailServer, secrets: { url: string }) => ({
    GMAIL_SECRET_ID: secretId,
    SMTP_HOST: '127.0.0.1',
    SMTP_PORT: String(server.port),
    ...localAws,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  });

  async function withFunctionEnv<T>(env: Record<string, string>, run: () => Promise<T>): Promise<T> {
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
    Object.assign(process.env, env);
    try {
      return await run();
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  }

  it('reports every step from inside the function, and the App Password advice on a wrong secret', async () => {
    const server = await gmail();
    const secrets = await startSecretsEndpoint({
      secrets: { [secretId]: JSON.stringify({ username: testGmailAccount.user, password: appPassword }) },
    });
    const table = await startStateTable();
    await new QuotaGuard(table.clients, 500).record(50);
    const env = {
      ...functionEnv(server, secrets),
      ALERT_TO: 'oncall@example.com',
      ALERT_STATE_TABLE: table.tableName,
      AWS_ENDPOINT_URL_DYNAMODB: table.url,
    };

    const [passed, refusedRecipient, wrong] = await withFunctionEnv(env, async () => {
      const handler = await coldStart<DoctorEvent, DiagnosisReport>('doctor');
      const context = () => createLambdaContext({ functionName: 'doctor', timeoutMs: 30_000 });
      const first = await handler({ testMessage: true }, context());
      const second = await handler({ testMessage: true, to: ['someone@elsewhere.org'] }, context());
      secrets.setSecret(
        secretId,
        JSON.stringify({ username: testGmailAccount.user, password: wrongAppPassword }),
      );
      const third = await handler({}, context());
      return [first, second, third];
    });
    await secrets.close();
    await table.close();
    everyOutput.push(JSON.stringify([passed, refusedRecipient, wrong]));

    expect(passed.ok).toBe(true);
    expect(passed.steps.map((step) => `${step.id}:${step.status}`)).toEqual([
      'config:pass',
      'quota:pass',
      'secret:pass',
      'app-password:pass',
      'dns:pass',
      'tcp:pass',
      'tls-mode:pass',
      'certificate:pass',
      'auth:pass',
      'test-message:pass',
    ]);
    expect(passed.steps[1]?.detail).toBe('50 of 500 recipients in the last 24 h (10 %): sending');
    expect(server.messages[0]?.envelope.to).toEqual(['oncall@example.com']);
    expect(refusedRecipient.ok).toBe(false);
    expect(refusedRecipient.steps.at(-1)?.cause).toContain('not on the allowed recipients list');
    expect(wrong.ok).toBe(false);
    expect(wrong.steps.at(-1)).toMatchObject({ id: 'auth', status: 'fail' });
    expect(wrong.steps.at(-1)?.fix).toContain('2-Step Verification');
    expect(server.messages).toHaveLength(1);
  });

  it("doctor --deployed prints the function's report through Lambda Invoke", async () => {
    const server = await gmail();
    const secrets = await startSecretsEndpoint({
      secrets: { [secretId]: JSON.stringify({ username: testGmailAccount.user, password: appPassword }) },
    });
    const env = functionEnv(server, secrets);
    const handler = await withFunctionEnv(env, () => coldStart<DoctorEvent, DiagnosisReport>('doctor'));
    // Lambda's Invoke API on loopback, answered by the built bundle.
    const invoked: string[] = [];
    const lambda = createHttpServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk);
      invoked.push(decodeURIComponent(request.url ?? ''));
      // The function reads its own environment, as it would inside Lambda.
      const report = await withFunctionEnv(env, () =>
        handler(JSON.parse(Buffer.concat(chunks).toString() || '{}'), createLambdaContext()),
      );
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(report));
    }).listen(0, '127.0.0.1');
    await once(lambda, 'listening');

    const run = await runDoctor(
      {
        ...localAws,
        AWS_ENDPOINT_URL_LAMBDA: `http://127.0.0.1:${(lambda.address() as { port: number }).port}`,
      },
      ['--deployed', '--function', 'gmail-alerts-doctor'],
    );
    lambda.close();
    await secrets.close();

    expect(run.code).toBe(0);
    expect(invoked[0]).toContain('/functions/gmail-alerts-doctor/invocations');
    expect(stepLines(run.stdout, 'AUTH')).toMatch(/^✓ AUTH/);
    expect(run.stdout).toContain('All checks passed');
  });
});

describe('npm run doctor with an OAuth secret', { timeout: 60_000 }, () => {
  /** A secret holding an OAuth client and a refresh token from a loopback token endpoint. */
  async function oauthSetUp(options: { gmailTakesTokens?: boolean } = {}) {
    const oauth: OAuthEndpoint = await startOAuthEndpoint();
    oauth.registerClient(testOAuthClient);
    const refreshToken = oauth.issueRefreshToken(testOAuthClient, testGmailAccount.user);
    const server = await gmail(options.gmailTakesTokens === false ? {} : { oauth });
    const secrets = await startSecretsEndpoint({
      secrets: {
        'prod/gmail-oauth': JSON.stringify({
          username: testGmailAccount.user,
          ...testOAuthClient,
          refreshToken,
        }),
      },
    });
    const env = {
      ...localAws,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      GMAIL_SECRET_ID: 'prod/gmail-oauth',
      GOOGLE_OAUTH_TOKEN_URL: oauth.tokenUrl,
      SMTP_HOST: 'localhost',
      SMTP_PORT: String(server.port),
    };
    /** The run's output holds no client secret, refresh token or access token, in any form. */
    const expectNothingSecret = (run: ScriptRun) => {
      const output = `${run.stdout}${run.stderr}`;
      for (const secret of [testOAuthClient.clientSecret, refreshToken, ...oauth.issuedAccessTokens]) {
        expect(output).not.toContain(secret);
        expect(output).not.toContain(encodeURIComponent(secret));
      }
      for (const token of oauth.issuedAccessTokens) {
        expect(output).not.toContain(Buffer.from(`auth=Bearer ${token}`).toString('base64').slice(4, -4));
      }
    };
    const close = async () => {
      await secrets.close();
      await oauth.close();
    };
    return { oauth, server, env, refreshToken, expectNothingSecret, close };
  }

  it('checks the token request, AUTH XOAUTH2 and a test message, and passes', async () => {
    const setUp = await oauthSetUp();
    try {
      const run = await runDoctor(setUp.env, ['--to', 'me@example.net']);

      expect(run.code).toBe(0);
      expect(stepLines(run.stdout, 'OAuth credentials shape')).toContain(
        `OAuth client ${testOAuthClient.clientId}`,
      );
      expect(stepLines(run.stdout, 'Token request')).toMatch(/^✓ Token request .*issued an access token/);
      expect(stepLines(run.stdout, 'AUTH')).toMatch(/^✓ AUTH/);
      expect(stepLines(run.stdout, 'Test message')).toMatch(/^✓ Test message .*sent to me@example\.net/);
      expect(run.stdout).not.toContain('App Password shape');
      expect(setUp.server.stats.oauthLogins).toBe(2);
      expect(setUp.oauth.grants).toEqual(['refresh_token', 'refresh_token']);
      setUp.expectNothingSecret(run);
    } finally {
      await setUp.close();
    }
  });

  it('stops at the token request when the refresh token is revoked, with the consent advice', async () => {
    const setUp = await oauthSetUp();
    try {
      setUp.oauth.revoke(setUp.refreshToken);

      const run = await runDoctor(setUp.env);

      expect(run.code).toBe(1);
      const step = stepLines(run.stdout, 'Token request');
      expect(step).toMatch(/^✗ Token request/);
      expect(step).toContain('invalid_grant');
      expect(step).toContain('npm run secret:set -- --oauth');
      expect(setUp.server.stats.connections).toBe(0);
      setUp.expectNothingSecret(run);
    } finally {
      await setUp.close();
    }
  });

  it('fails at AUTH with the OAuth advice, not the App Password one, when Gmail refuses the token', async () => {
    const setUp = await oauthSetUp({ gmailTakesTokens: false });
    try {
      const run = await runDoctor(setUp.env);

      expect(run.code).toBe(1);
      const step = stepLines(run.stdout, 'AUTH');
      expect(step).toMatch(/^✗ AUTH/);
      expect(step).toContain('Gmail refused a freshly issued access token');
      expect(step).toContain('535');
      expect(step).not.toContain('App Password');
      setUp.expectNothingSecret(run);
    } finally {
      await setUp.close();
    }
  });
});
