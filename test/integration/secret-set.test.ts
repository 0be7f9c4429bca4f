import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { STACK_NAME } from '../../infra/app.ts';
import { type AwsJsonEndpoint, startAwsJsonEndpoint } from '../../local/aws-json-endpoint.ts';
import { type OAuthEndpoint, startOAuthEndpoint, testOAuthClient } from '../../local/oauth-endpoint.ts';
import { runScript, type ScriptRun } from '../support/run-script.ts';

// These tests run the command scripts as child processes; a loaded machine can slow them many times over.
vi.setConfig({ testTimeout: 60_000 });

const appPassword = 'qrst uvwx yzab cdef';
const secretArn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:GmailAlertsSecret-AbCdEf';

interface DeployedStack {
  status: string;
  outputs: Record<string, string>;
}

interface CloudFormationEndpoint {
  readonly url: string;
  /** The form parameters of every call, in order. */
  readonly calls: Record<string, string>[];
  close(): Promise<void>;
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * A loopback CloudFormation that answers DescribeStacks in the AWS query protocol (form in, XML out),
 * as `@aws-sdk/client-cloudformation` expects, for the stacks it is given.
 */
async function startCloudFormationEndpoint(
  stacks: Record<string, DeployedStack>,
): Promise<CloudFormationEndpoint> {
  const calls: Record<string, string>[] = [];
  const server = createServer(async (request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    calls.push({ ...form, signed: String(request.headers.authorization ?? '').split(' ')[0] ?? '' });
    const stackName = form.StackName ?? '';
    const stack = stacks[stackName];
    const requestId = randomUUID();
    response.setHeader('content-type', 'text/xml');
    if (form.Action !== 'DescribeStacks' || !stack) {
      // What CloudFormation answers for a stack that does not exist in the account and region.
      response
        .writeHead(400)
        .end(
          `<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>` +
            `<Code>ValidationError</Code><Message>Stack with id ${xmlEscape(stackName)} does not exist</Message>` +
            `</Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
        );
      return;
    }
    const outputs = Object.entries(stack.outputs)
      .map(
        ([key, value]) =>
          `<member><OutputKey>${xmlEscape(key)}</OutputKey><OutputValue>${xmlEscape(value)}</OutputValue></member>`,
      )
      .join('');
    response
      .writeHead(200)
      .end(
        `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult>` +
          `<Stacks><member><StackName>${xmlEscape(stackName)}</StackName>` +
          `<StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/${xmlEscape(stackName)}/${requestId}</StackId>` +
          `<CreationTime>2026-11-30T10:00:00.000Z</CreationTime><StackStatus>${stack.status}</StackStatus>` +
          `<Outputs>${outputs}</Outputs></member></Stacks></DescribeStacksResult>` +
          `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
      );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('CloudFormation endpoint has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    calls,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let awsConfigDir: string;
let cloudFormation: CloudFormationEndpoint;
let secrets: AwsJsonEndpoint;
const writes: Record<string, unknown>[] = [];

/**
 * A shell with no AWS set-up at all: no region, no credentials, and no ~/.aws files or instance
 * metadata for the SDK to fall back on.
 */
const machineWithoutAws = () => ({
  PATH: process.env.PATH ?? '',
  NO_COLOR: '1',
  AWS_CONFIG_FILE: join(awsConfigDir, 'config'),
  AWS_SHARED_CREDENTIALS_FILE: join(awsConfigDir, 'credentials'),
  AWS_EC2_METADATA_DISABLED: 'true',
});

/** The same shell with a region, credentials and the loopback endpoints. */
const machineWithAws = () => ({
  ...machineWithoutAws(),
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_CLOUDFORMATION: cloudFormation.url,
  AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
});

/** Runs `npm run secret:set -- <args>` to completion with the given environment and stdin. */
const secretSet = (args: string[], env: Record<string, string>, stdin?: string): Promise<ScriptRun> =>
  runScript('secret-set.ts', args, env, stdin);

beforeAll(async () => {
  awsConfigDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-no-aws-'));
  cloudFormation = await startCloudFormationEndpoint({
    [STACK_NAME]: {
      status: 'CREATE_COMPLETE',
      outputs: { AlertsUrl: 'https://x', GmailSecretArn: secretArn },
    },
    'GmailAlerts-staging': { status: 'CREATE_IN_PROGRESS', outputs: {} },
  });
  secrets = await startAwsJsonEndpoint({
    jsonVersion: '1.1',
    handle(target, input) {
      if (target !== 'secretsmanager.PutSecretValue') throw new Error(`unexpected ${target}`);
      writes.push(input);
      return { ARN: input.SecretId, Name: 'GmailAlertsSecret', VersionId: 'v-7' };
    },
  });
});

afterAll(async () => {
  await cloudFormation.close();
  await secrets.close();
  await rm(awsConfigDir, { recursive: true, force: true });
});

afterEach(() => {
  cloudFormation.calls.length = 0;
  writes.length = 0;
});

describe('npm run secret:set without a secret id', () => {
  it('writes to the secret named by the GmailSecretArn output of the deployed stack', async () => {
    const run = await secretSet([], machineWithAws(), `ops@example.com\n${appPassword}\n`);

    expect(run.code).toBe(0);
    expect(cloudFormation.calls).toEqual([
      expect.objectContaining({
        Action: 'DescribeStacks',
        StackName: STACK_NAME,
        signed: 'AWS4-HMAC-SHA256',
      }),
    ]);
    expect(writes).toHaveLength(1);
    expect(writes[0]?.SecretId).toBe(secretArn);
    expect(JSON.parse(String(writes[0]?.SecretString))).toEqual({
      username: 'ops@example.com',
      password: 'qrstuvwxyzabcdef',
    });
    expect(run.stdout).toContain(`✓ Secret: ${secretArn} (output GmailSecretArn of stack ${STACK_NAME})`);
    expect(run.stdout).toContain(
      '✓ Wrote ops@example.com and its App Password to GmailAlertsSecret (version v-7)',
    );
    expect(`${run.stdout}${run.stderr}`).not.toContain('qrst');
  });

  it('looks up the stack named with --stack, even when GMAIL_SECRET_ID is set', async () => {
    const run = await secretSet(
      ['--stack', STACK_NAME, '--username', 'ops@example.com'],
      { ...machineWithAws(), GMAIL_SECRET_ID: 'some/other-secret' },
      `${appPassword}\n`,
    );

    expect(run.code).toBe(0);
    expect(writes.map((write) => write.SecretId)).toEqual([secretArn]);
  });

  it('uses --secret-id as given, without asking CloudFormation', async () => {
    const run = await secretSet(
      ['--secret-id', 'prod/gmail-alerts', '--username', 'ops@example.com'],
      machineWithAws(),
      `${appPassword}\n`,
    );

    expect(run.code).toBe(0);
    expect(cloudFormation.calls).toHaveLength(0);
    expect(writes.map((write) => write.SecretId)).toEqual(['prod/gmail-alerts']);
  });

  it('fails with exit 1 and what to do when the stack is not deployed, before any password is read', async () => {
    const run = await secretSet(
      ['--stack', 'NoSuchStack'],
      machineWithAws(),
      `ops@example.com\n${appPassword}\n`,
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      '✗ Could not find the secret of stack NoSuchStack in eu-west-1 (ValidationError)',
    );
    expect(run.stderr).toContain(
      'fix: No stack NoSuchStack in this account and region: deploy it (npx cdk deploy)',
    );
    expect(run.stderr).not.toContain('Usage:');
    expect(writes).toHaveLength(0);
  });

  it('fails with exit 1 when the stack has no GmailSecretArn output yet', async () => {
    const run = await secretSet(['--stack', 'GmailAlerts-staging'], machineWithAws());

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('it has no GmailSecretArn output in eu-west-1 (status CREATE_IN_PROGRESS)');
    expect(writes).toHaveLength(0);
  });

  it('names the missing region on a machine without AWS set up, with exit 1 and not a usage error', async () => {
    const run = await secretSet([], machineWithoutAws());

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `✗ Could not find the secret of stack ${STACK_NAME} (GmailSecretArn output): no AWS region is set.`,
    );
    expect(run.stderr).toContain("fix: set AWS_REGION to the stack's region");
    expect(run.stderr).not.toContain('Usage:');
  });

  it('names the missing credentials when only a region is set', async () => {
    const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...withoutCredentials } = machineWithAws();

    const run = await secretSet([], withoutCredentials);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('(CredentialsProviderError)');
    expect(run.stderr).toContain('No AWS credentials found: set AWS_PROFILE');
    expect(cloudFormation.calls).toHaveLength(0);
  });

  it('refuses --secret-id together with --stack as a usage error', async () => {
    const run = await secretSet(['--secret-id', 'a', '--stack', 'b'], machineWithAws());

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('name the secret with --secret-id or with --stack, not both');
  });

  it('documents the stack the CDK app deploys as its default', async () => {
    const run = await secretSet(['--help'], machineWithoutAws());

    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`(default ${STACK_NAME})`);
  });
});

describe('npm run secret:set -- --oauth', () => {
  let oauth: OAuthEndpoint;

  beforeAll(async () => {
    oauth = await startOAuthEndpoint();
    oauth.registerClient(testOAuthClient);
  });
  afterAll(async () => {
    await oauth.close();
  });

  /** What a browser does with the printed consent URL: opens it, and follows the redirect back to 127.0.0.1. */
  interface BrowserVisit {
    consentUrl: URL;
    redirect: URL;
    page: string;
  }

  /** Runs secret:set --oauth; a "browser" opens the consent URL the moment it is printed. */
  async function consentRun(clientSecret: string, extraArgs: string[] = []) {
    let visit: Promise<BrowserVisit> | undefined;
    const browse = async (consentUrl: URL): Promise<BrowserVisit> => {
      const consent = await fetch(consentUrl, { redirect: 'manual' });
      const redirect = new URL(consent.headers.get('location') ?? '');
      const page = await (await fetch(redirect)).text();
      return { consentUrl, redirect, page };
    };
    const run = await runScript(
      'secret-set.ts',
      [
        '--secret-id',
        'prod/gmail-alerts',
        '--oauth',
        '--username',
        'ops@example.com',
        '--client-id',
        testOAuthClient.clientId,
        '--authorization-url',
        oauth.authorizationUrl,
        ...extraArgs,
      ],
      { ...machineWithAws(), GOOGLE_OAUTH_TOKEN_URL: oauth.tokenUrl },
      `${clientSecret}\n`,
      (stdout) => {
        const printed = /^ {2}(http:\/\/127\.0\.0\.1:\d+\/o\/oauth2\/v2\/auth\?\S+)$/m.exec(stdout)?.[1];
        if (printed && !visit) visit = browse(new URL(printed));
      },
    );
    return { run, visit: await visit };
  }

  it('prints the consent URL, takes the code on 127.0.0.1 with PKCE, and stores the refresh token', async () => {
    const grantsBefore = oauth.grants.length;

    const { run, visit } = await consentRun(testOAuthClient.clientSecret);

    expect(run.code).toBe(0);
    const query = visit?.consentUrl.searchParams;
    expect(query?.get('client_id')).toBe(testOAuthClient.clientId);
    expect(query?.get('scope')).toBe('https://mail.google.com/');
    expect(query?.get('code_challenge_method')).toBe('S256');
    expect(query?.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(query?.get('access_type')).toBe('offline');
    expect(query?.get('redirect_uri')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(visit?.redirect.origin).toBe(new URL(query?.get('redirect_uri') ?? '').origin);
    expect(visit?.page).toContain('you may close this tab');
    expect(oauth.grants.slice(grantsBefore)).toEqual(['authorization_code']);

    expect(writes).toHaveLength(1);
    const stored = JSON.parse(String(writes[0]?.SecretString));
    expect(stored).toEqual({
      username: 'ops@example.com',
      clientId: testOAuthClient.clientId,
      clientSecret: testOAuthClient.clientSecret,
      refreshToken: expect.stringMatching(/^1\/\/local-/),
    });
    // The stored refresh token works: the functions get an access token with it.
    const refreshed = await fetch(oauth.tokenUrl, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        ...clientFields(),
        refresh_token: stored.refreshToken,
      }),
    });
    expect(refreshed.status).toBe(200);
    expect(run.stdout).toContain(
      '✓ Wrote ops@example.com and its OAuth client and refresh token to GmailAlertsSecret',
    );
    const output = `${run.stdout}${run.stderr}`;
    for (const secret of [
      testOAuthClient.clientSecret,
      stored.refreshToken,
      encodeURIComponent(stored.refreshToken),
    ]) {
      expect(output).not.toContain(secret);
    }
  });

  it('fails with the client advice and writes nothing when Google refuses the client secret', async () => {
    const { run } = await consentRun('GOCSPX-rotatedAwayLongAgo');

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('invalid_client');
    expect(run.stderr).toContain('client secret');
    expect(run.stderr).not.toContain('GOCSPX-rotatedAwayLongAgo');
    expect(writes).toEqual([]);
  });

  it('refuses a client ID that is not a Google OAuth client before any browser is involved', async () => {
    const run = await secretSet(
      [
        '--secret-id',
        'prod/gmail-alerts',
        '--oauth',
        '--username',
        'ops@example.com',
        '--client-id',
        'my-app',
      ],
      { ...machineWithAws(), GOOGLE_OAUTH_TOKEN_URL: oauth.tokenUrl },
      `${testOAuthClient.clientSecret}\n`,
    );

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('.apps.googleusercontent.com');
    expect(run.stdout).not.toContain('Open this URL');
    expect(writes).toEqual([]);
  });
});

const clientFields = () => ({
  client_id: testOAuthClient.clientId,
  client_secret: testOAuthClient.clientSecret,
});
