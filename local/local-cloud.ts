// The loopback cloud in one call: the Gmail-like SMTP server, Secrets Manager holding the account's
// secret, Google's token endpoint for an OAuth secret, SQS with the alerts queue and its dead-letter queue, DynamoDB with the state table, optionally a TCP proxy on the SMTP path
// and a throwaway CA, and the environment that points the functions at them. npm start, npm run
// invoke, the benchmark and the tests all start it here; a new local service is added here once.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ContractInput,
  contractEnvironment,
  ENVIRONMENT_VARIABLES,
} from '../functions/core/config-contract.ts';
import {
  type GmailServer,
  type GmailServerOptions,
  startGmailServer,
  testGmailAccount,
} from './gmail-server.ts';
import { type OAuthEndpoint, startOAuthEndpoint, testOAuthClient } from './oauth-endpoint.ts';
import { type SecretsEndpoint, startSecretsEndpoint } from './secrets-endpoint.ts';
import { type SqsEndpoint, startSqsEndpoint } from './sqs-endpoint.ts';
import { type StateTableEndpoint, startStateTable } from './state-table.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';
import { createTestPki, writeTestPki } from './tls.ts';

/** A Gmail account: the address and its App Password. */
export interface GmailAccount {
  user: string;
  pass: string;
}

/**
 * What the functions are configured with, beyond where the local services listen: settings of the
 * configuration contract, in its own types, plus the service name.
 */
export interface FunctionSettings
  extends Pick<
    ContractInput,
    'allowedRecipients' | 'maxReceives' | 'smtpTimeoutMs' | 'logLevel' | 'repeatSeconds' | 'gmailDailyLimit'
  > {
  /** ALERT_TO. */
  alertTo: string[];
  /** SMTP_HOST: the name the functions connect to; default the server's address. `localhost` also matches the certificate. */
  smtpHost?: string;
  /** POWERTOOLS_SERVICE_NAME. */
  serviceName?: string;
  /** TZ of the function process. */
  timeZone?: string;
}

/** How the secret signs in: an App Password, an OAuth client's refresh token, or a service account. */
export type LocalSignIn = 'app-password' | 'oauth-client' | 'service-account';

/** The service account the local cloud delegates when it signs in as one. */
export const LOCAL_SERVICE_CLIENT = 'gmail-alerts@local-project.iam.gserviceaccount.com';

export interface LocalCloudOptions {
  /** The account the Gmail-like server accepts and the secret names (default {@link testGmailAccount}). */
  account?: GmailAccount;
  /**
   * The secret's shape (default `app-password`). The OAuth shapes get their tokens from the local
   * token endpoint, which the Gmail-like server asks at AUTH XOAUTH2.
   */
  signIn?: LocalSignIn;
  /** Default `local/gmail-alerts`. */
  secretId?: string;
  /** The secret's value; default `{"username","password"}` of `account`; `null` leaves the secret out. */
  secretValue?: string | null;
  /** Options of the Gmail-like server (its users default to `account`). */
  gmail?: GmailServerOptions;
  /** Also start a second Gmail-like server with implicit TLS, as smtp.gmail.com:465. */
  implicitTlsServer?: boolean;
  /**
   * Create a throwaway CA for the servers' certificate and hand it to the functions through
   * NODE_EXTRA_CA_CERTS (read at process start: for functions in a child process). Without it the
   * servers use the PKI the test setup published and the process is expected to trust it already.
   */
  freshCa?: boolean;
  /** Route SMTP through a {@link TcpProxy} (latency, faults, a wire tap). */
  smtpProxy?: { oneWayDelayMs?: number; recordClientBytes?: boolean };
  /** Delay of every Secrets Manager answer. */
  secretDelayMs?: number;
  settings?: Partial<FunctionSettings>;
  /** Start the state table (DynamoDB on loopback) and hand it to the functions; default true. */
  stateTable?: boolean;
  /** Route DynamoDB through a {@link TcpProxy}: in-region latency, and a count of its requests and rounds. */
  stateProxy?: { oneWayDelayMs?: number };
  /**
   * ALERT_SILENCE_BASE_URL: where the silence links of the mails point (the local API). Without it,
   * mails carry no link; the signing secret is created all the same.
   */
  silenceBaseUrl?: string;
  /** The signing secret's key; default 32 fresh random bytes, base64. */
  signingKey?: string;
}

export interface LocalCloud {
  readonly account: GmailAccount;
  readonly secretId: string;
  /** STARTTLS as smtp.gmail.com:587, or implicit TLS with `gmail.secure`. */
  readonly gmail: GmailServer;
  /** With `implicitTlsServer`: implicit TLS, as smtp.gmail.com:465. */
  readonly gmailImplicitTls: GmailServer | undefined;
  readonly secrets: SecretsEndpoint;
  /** The secret's value as stored (`null`: left out). */
  readonly secretValue: string | null;
  /** The secret whose key signs silence links (ALERT_SIGNING_SECRET_ID). */
  readonly signingSecretId: string;
  /** ALERT_SILENCE_BASE_URL, when given. */
  readonly silenceBaseUrl: string | undefined;
  /** Google's token endpoint and consent page (GOOGLE_OAUTH_TOKEN_URL). */
  readonly oauth: OAuthEndpoint;
  readonly signIn: LocalSignIn;
  readonly sqs: SqsEndpoint;
  /** The state table (dynalite), unless started with `stateTable: false`. */
  readonly state: StateTableEndpoint | undefined;
  /** With `stateProxy`: in front of the state table. */
  readonly stateTableProxy: TcpProxy | undefined;
  /** With `smtpProxy`: in front of `gmail`. */
  readonly smtpProxy: TcpProxy | undefined;
  /** With `smtpProxy` and `implicitTlsServer`: in front of `gmailImplicitTls`. */
  readonly implicitTlsProxy: TcpProxy | undefined;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** With `freshCa`: the CA certificate (PEM) and its file. */
  readonly ca: { pem: string; file: string } | undefined;
  readonly settings: FunctionSettings;
  /** The functions' environment: {@link functionEnvironment} of this cloud. */
  readonly env: Record<string, string>;
  close(): Promise<void>;
}

export const LOCAL_SECRET_ID = 'local/gmail-alerts';
export const LOCAL_SIGNING_SECRET_ID = 'local/gmail-alerts-signing';

/** A signing secret's value as the stack's generated one looks: JSON `{"key": …}`, 32 random bytes by default. */
export function signingSecretValue(key: string = randomBytes(32).toString('base64')): string {
  return JSON.stringify({ key });
}
const defaultSettings: FunctionSettings = { alertTo: ['oncall@example.com'] };

/** Where the functions reach SMTP: the proxy when there is one, else the server itself. */
function smtpEndpoint(cloud: LocalCloud, implicitTls: boolean) {
  const server = implicitTls ? cloud.gmailImplicitTls : cloud.gmail;
  if (!server)
    throw new Error('this local cloud has no implicit-TLS server: start it with implicitTlsServer');
  const proxy = implicitTls ? cloud.implicitTlsProxy : cloud.smtpProxy;
  return { host: proxy?.host ?? server.host, port: proxy?.port ?? server.port, secure: server.secure };
}

/**
 * The environment the functions run with against `cloud`: the configuration contract, the SDK
 * endpoints, and the CA to trust. The one place that names these variables for the local cloud.
 * `implicitTls` points SMTP at the implicit-TLS server instead.
 */
export function functionEnvironment(
  cloud: Omit<LocalCloud, 'env' | 'close'>,
  options: { implicitTls?: boolean } = {},
): Record<string, string> {
  const smtp = smtpEndpoint(cloud as LocalCloud, options.implicitTls ?? false);
  const { settings } = cloud;
  // The contract names the variables and checks the values with the functions' own rules.
  const contract = contractEnvironment({
    secretId: cloud.secretId,
    smtpHost: settings.smtpHost ?? smtp.host,
    smtpPort: smtp.port,
    smtpSecure: smtp.secure,
    alertTo: settings.alertTo,
    allowedRecipients: settings.allowedRecipients,
    queueUrl: cloud.queueUrl,
    deadLetterQueueUrl: cloud.deadLetterQueueUrl,
    maxReceives: settings.maxReceives,
    smtpTimeoutMs: settings.smtpTimeoutMs,
    logLevel: settings.logLevel,
    oauthTokenUrl: cloud.oauth.tokenUrl,
    stateTable: cloud.state?.tableName,
    repeatSeconds: settings.repeatSeconds,
    gmailDailyLimit: settings.gmailDailyLimit,
    signingSecretId: cloud.signingSecretId,
    silenceBaseUrl: cloud.silenceBaseUrl,
  });
  const optional = (name: string, value: string | undefined) =>
    value === undefined ? {} : { [name]: value };
  return {
    ...contract,
    ...optional(ENVIRONMENT_VARIABLES.serviceName, settings.serviceName),
    // Standard AWS SDK and Node variables, outside the contract.
    AWS_REGION: 'us-east-1',
    // The local endpoints want a signed request, as AWS does; they do not check the signature.
    AWS_ACCESS_KEY_ID: 'AKIALOCALONLY',
    AWS_SECRET_ACCESS_KEY: 'local-only',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: cloud.secrets.url,
    AWS_ENDPOINT_URL_SQS: cloud.sqs.url,
    ...optional(
      'AWS_ENDPOINT_URL_DYNAMODB',
      cloud.stateTableProxy
        ? `http://${cloud.stateTableProxy.host}:${cloud.stateTableProxy.port}`
        : cloud.state?.url,
    ),
    ...optional('NODE_EXTRA_CA_CERTS', cloud.ca?.file),
    ...optional('TZ', settings.timeZone),
  };
}

/** Creates a CA and a server certificate in a temporary directory, removed by `remove`. */
async function freshCertificates() {
  const dir = await mkdtemp(join(tmpdir(), 'gmail-alerts-local-'));
  const pki = await createTestPki();
  const { caFile } = await writeTestPki(dir, pki);
  return {
    ca: { pem: pki.caPem, file: caFile },
    tls: { cert: pki.certPem, key: pki.keyPem },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The secret's value for `signIn`, registering what it names with the token endpoint. */
function secretFor(signIn: LocalSignIn, account: GmailAccount, oauth: OAuthEndpoint): string {
  if (signIn === 'oauth-client') {
    oauth.registerClient(testOAuthClient);
    const refreshToken = oauth.issueRefreshToken(testOAuthClient, account.user);
    return JSON.stringify({ username: account.user, ...testOAuthClient, refreshToken });
  }
  if (signIn === 'service-account') {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    oauth.delegate(LOCAL_SERVICE_CLIENT, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    return JSON.stringify({
      username: account.user,
      serviceClient: LOCAL_SERVICE_CLIENT,
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
  }
  return JSON.stringify({ username: account.user, password: account.pass });
}

function stateTableTarget(url: string) {
  const { hostname, port } = new URL(url);
  return { host: hostname, port: Number(port) };
}

/** Starts the loopback cloud (see {@link LocalCloudOptions}); `close()` stops all of it. */
export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const account = options.account ?? testGmailAccount;
  const secretId = options.secretId ?? LOCAL_SECRET_ID;
  const certificates = options.freshCa ? await freshCertificates() : undefined;
  const signIn = options.signIn ?? 'app-password';
  const oauth = await startOAuthEndpoint();
  const gmailOptions: GmailServerOptions = {
    users: { [account.user]: account.pass },
    oauth,
    ...(certificates ? { tls: certificates.tls } : {}),
    ...options.gmail,
  };
  const gmail = await startGmailServer(gmailOptions);
  const gmailImplicitTls = options.implicitTlsServer
    ? await startGmailServer({ ...gmailOptions, secure: true })
    : undefined;
  const proxyTo = (server: GmailServer | undefined) =>
    server && options.smtpProxy
      ? startTcpProxy({ target: { host: server.host, port: server.port }, ...options.smtpProxy })
      : undefined;
  const smtpProxy = await proxyTo(gmail);
  const implicitTlsProxy = await proxyTo(gmailImplicitTls);
  const secretValue =
    options.secretValue === undefined ? secretFor(signIn, account, oauth) : options.secretValue;
  const secrets = await startSecretsEndpoint({
    secrets: {
      ...(secretValue === null ? {} : { [secretId]: secretValue }),
      [LOCAL_SIGNING_SECRET_ID]: signingSecretValue(options.signingKey),
    },
  });
  secrets.delayMs = options.secretDelayMs ?? 0;
  const sqs = await startSqsEndpoint();
  const state = (options.stateTable ?? true) ? await startStateTable() : undefined;
  const stateTableProxy =
    state && options.stateProxy
      ? await startTcpProxy({ target: stateTableTarget(state.url), ...options.stateProxy })
      : undefined;

  const cloud = {
    account,
    secretId,
    gmail,
    gmailImplicitTls,
    secrets,
    secretValue,
    signingSecretId: LOCAL_SIGNING_SECRET_ID,
    silenceBaseUrl: options.silenceBaseUrl,
    oauth,
    signIn,
    sqs,
    state,
    stateTableProxy,
    smtpProxy,
    implicitTlsProxy,
    queueUrl: sqs.queueUrl('gmail-alerts-queue'),
    deadLetterQueueUrl: sqs.queueUrl('gmail-alerts-dlq'),
    ca: certificates?.ca,
    settings: { ...defaultSettings, ...options.settings },
  };
  return {
    ...cloud,
    env: functionEnvironment(cloud),
    async close() {
      await Promise.allSettled([
        gmail.close(),
        gmailImplicitTls?.close(),
        smtpProxy?.close(),
        stateTableProxy?.close(),
        implicitTlsProxy?.close(),
        secrets.close(),
        oauth.close(),
        sqs.close(),
        state?.close(),
      ]);
      await certificates?.remove();
    },
  };
}
