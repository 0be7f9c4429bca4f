import type { TLSSocket } from 'node:tls';
import { parseAlert } from '../core/alert.ts';
import { isCertificateError } from '../core/classify.ts';
import type { AlertConfig } from '../core/config.ts';
import { ENVIRONMENT_VARIABLES, STATE_TABLE_SCHEMA } from '../core/config-contract.ts';
import { AlertError, ConfigError } from '../core/errors.ts';
import {
  authPlainToken,
  credentialsKind,
  fetchGmailCredentials,
  type GmailCredentials,
  type OAuthCredentials,
  xoauth2Token,
} from '../core/gmail-credentials.ts';
import {
  adviceFor,
  enhancedStatusOf,
  lookupGmailReply,
  lookupOAuthReply,
  type OAuthKind,
  smtpServiceOf,
} from '../core/gmail-replies.ts';
import { GmailSender } from '../core/gmail-sender.ts';
import { GoogleAccessTokens } from '../core/google-oauth.ts';
import { DIGEST_INTERVAL_SECONDS, QuotaGuard } from '../core/quota-guard.ts';
import { quotaSummary, readQuota } from '../core/quota-reading.ts';
import { normaliseAddress } from '../core/recipients.ts';
import { createStateClients } from '../core/state-store.ts';
import {
  type CredentialsSource,
  credentialsShapeProblem,
  loadOperatorConfig,
  type OperatorConfig,
  shapeAdvice,
} from './operator-config.ts';
import {
  connectTcp,
  ProbeTimeoutError,
  readPlainGreeting,
  resolveHost,
  SmtpProbe,
  type SmtpReply,
  speaksImplicitTls,
  withTimeout,
} from './smtp-probe.ts';

/** What a step found: one line for the report, and what the steps after it need. */
export interface StepFinding<T> {
  detail: string;
  value: T;
  /** The step had nothing to check (the detail says why); `value` still serves the next steps. */
  skipped?: boolean;
  /** Something to act on that does not stop the diagnosis: what to do about it. */
  warning?: string;
}

/** A step's failure: one line of cause, one line of fix. */
export class DiagnosisStepError extends Error {
  readonly fix: string;

  constructor(cause: string, fix: string, options?: ErrorOptions) {
    super(cause, options);
    this.name = 'DiagnosisStepError';
    this.fix = fix;
  }
}

/** What the TLS-mode step found: implicit TLS (done, or stopped at a refused certificate) or STARTTLS to come. */
export type TlsModeFinding =
  | { mode: 'implicit'; tls: TLSSocket }
  | { mode: 'implicit'; certificateError: unknown }
  | { mode: 'starttls' };

type Smtp = AlertConfig['smtp'];

const found = <T = undefined>(detail: string, value: T = undefined as T): StepFinding<T> => ({
  detail,
  value,
});

const codeOf = (error: unknown) => String((error as { code?: unknown }).code ?? (error as Error).name);

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

/** Why a TCP connection failed, and what to do; port 25 is named as blocked on AWS. */
export function connectFailure(
  error: unknown,
  smtp: Pick<Smtp, 'host' | 'port'>,
  timeoutMs: number,
): DiagnosisStepError {
  const { host, port } = smtp;
  const code = codeOf(error);
  const blocked: Record<string, string> = {
    ETIMEDOUT: `No answer from ${host}:${port} within ${seconds(timeoutMs)}: outbound TCP ${port} is blocked or dropped on the way`,
    ECONNREFUSED: `${host}:${port} refused the connection (ECONNREFUSED): nothing listens there, or a firewall rejects outbound TCP ${port}`,
    EHOSTUNREACH: `No route to ${host} (EHOSTUNREACH): outbound traffic is blocked or this network has no way out`,
    ENETUNREACH: `No route to ${host} (ENETUNREACH): this network has no way out (a VPC subnet without a NAT gateway?)`,
  };
  return new DiagnosisStepError(
    blocked[code] ?? `Could not connect to ${host}:${port} (${code})`,
    `Allow outbound TCP ${port} on the way out: the security group's egress rules, a NAT gateway route for private subnets, or the corporate firewall${port === 25 ? '; port 25 is blocked on AWS, use 587 or 465' : ''}.`,
  );
}

/** Why a certificate was refused, and what to do: never "turn verification off". */
function certificateFailure(error: unknown, host: string): DiagnosisStepError {
  const code = codeOf(error);
  if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    return new DiagnosisStepError(
      `The certificate of ${host} is ${code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'} (${code})`,
      "Check this machine's clock; if it is right, something on the way replaces Gmail's certificate.",
    );
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new DiagnosisStepError(
      `The certificate is not issued for ${host} (${code})`,
      'Set SMTP_HOST to the name on the certificate (smtp.gmail.com), not an IP address or an alias.',
    );
  }
  return new DiagnosisStepError(
    `The certificate of ${host} is not trusted (${code})`,
    "Something on the way replaces Gmail's certificate (a TLS-inspecting proxy or antivirus), or SMTP_HOST points elsewhere: connect directly, or trust that proxy's CA with NODE_EXTRA_CA_CERTS. Never turn verification off.",
  );
}

/** A greeting other than 220: Gmail's advice for a temporary refusal, else a wrong host or port. */
function sessionRefused(greeting: SmtpReply): DiagnosisStepError {
  const meaning = lookupGmailReply(greeting.code, enhancedStatusOf(greeting.text));
  return new DiagnosisStepError(
    `The server refused the session: ${greeting.text}`,
    meaning?.failureClass === 'transient'
      ? meaning.advice
      : 'The server does not accept this client: check SMTP_HOST and SMTP_PORT.',
  );
}

/** A failure no step foresaw: a silent or vanished server mid-conversation, or a bug. */
export function unexpectedFailure(error: unknown): DiagnosisStepError {
  if (error instanceof ProbeTimeoutError) {
    return new DiagnosisStepError(
      `The server stopped answering: ${error.message}`,
      'Gmail or the network is slow or dropping the connection: run the doctor again in a minute.',
    );
  }
  const code = codeOf(error);
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new DiagnosisStepError(
      `The server closed the connection mid-conversation (${code})`,
      'Gmail closes sessions it distrusts or that idle: run the doctor again; if it repeats, a proxy or firewall may be cutting SMTP.',
    );
  }
  return new DiagnosisStepError(
    `Unexpected ${code} during this check`,
    'Run the doctor again; if it repeats, report it with this output.',
  );
}

/** Reads the configuration as the functions do; a TLS-mode mismatch of port and SMTP_SECURE is named as such. */
export async function checkConfiguration(
  env: Record<string, string | undefined>,
): Promise<StepFinding<OperatorConfig>> {
  let operator: OperatorConfig;
  try {
    operator = loadOperatorConfig(env);
  } catch (error) {
    if (!(error instanceof AlertError)) throw error;
    const mismatch = error instanceof ConfigError && error.variable === ENVIRONMENT_VARIABLES.smtpSecure;
    throw new DiagnosisStepError(`${mismatch ? 'TLS mode mismatch: ' : ''}${error.message}`, error.advice);
  }
  const { host, port, secure } = operator.config.smtp;
  const { source } = operator;
  const from = source.kind === 'secret' ? `secret ${source.secretId}` : 'GMAIL_USER/GMAIL_APP_PASSWORD';
  return found(`${host}:${port} ${secure ? 'implicit TLS' : 'STARTTLS'}, credentials from ${from}`, operator);
}

/** Reads the secret (when one is used), bypassing any cache. */
export async function readSecret(
  source: CredentialsSource,
  timeoutMs: number,
): Promise<StepFinding<GmailCredentials>> {
  if (source.kind === 'direct') {
    return {
      ...found('GMAIL_USER and GMAIL_APP_PASSWORD are used instead', source.credentials),
      skipped: true,
    };
  }
  let credentials: GmailCredentials;
  try {
    credentials = await withTimeout(
      fetchGmailCredentials(source.secretId, { maxAgeSeconds: 0, forceFetch: true }),
      timeoutMs * 2,
      'Secrets Manager',
    );
  } catch (error) {
    if (error instanceof AlertError && error.failureClass === 'config') {
      throw new DiagnosisStepError(error.message, error.advice);
    }
    const cause = (error as { cause?: { name?: string } }).cause;
    throw new DiagnosisStepError(
      error instanceof ProbeTimeoutError
        ? `Secrets Manager did not answer within ${seconds(timeoutMs * 2)}`
        : `Secrets Manager could not be read (${cause?.name ?? codeOf(error)})`,
      'Check AWS credentials and AWS_REGION; inside a VPC, Secrets Manager needs a NAT gateway route or an interface endpoint (TCP 443).',
    );
  }
  return found(`${source.secretId}: username ${credentials.username}`, credentials);
}

/**
 * Flags an account password (or a mistyped OAuth client or key) before any login attempt counts
 * against the account.
 */
export async function checkPasswordShape(
  credentials: GmailCredentials,
  smtp: Pick<Smtp, 'host'>,
): Promise<StepFinding<undefined>> {
  const problem = credentialsShapeProblem(credentials, smtpServiceOf(smtp.host));
  if (problem) throw new DiagnosisStepError(problem, shapeAdvice(credentials, smtpServiceOf(smtp.host)));
  if ('refreshToken' in credentials) {
    return found(`username ${credentials.username}, OAuth client ${credentials.clientId}, a refresh token`);
  }
  if ('privateKey' in credentials) {
    return found(
      `username ${credentials.username}, service account ${credentials.serviceClient}, a private key`,
    );
  }
  const password = smtpServiceOf(smtp.host) === 'ses' ? 'an SMTP password' : 'password 16 letters';
  return found(`username ${credentials.username}, ${password}`);
}

/** Asks Google's token endpoint (GOOGLE_OAUTH_TOKEN_URL) for an access token, as the functions do. */
export async function requestAccessToken(
  config: AlertConfig,
  credentials: OAuthCredentials,
  timeoutMs: number,
): Promise<StepFinding<string>> {
  const tokens = new GoogleAccessTokens({ tokenUrl: config.oauthTokenUrl, timeoutMs });
  try {
    const accessToken = await tokens.get(credentials);
    return found(`${config.oauthTokenUrl} issued an access token for ${credentials.username}`, accessToken);
  } catch (error) {
    if (error instanceof AlertError) throw new DiagnosisStepError(error.message, error.advice);
    throw error;
  }
}

const FLOOD_ADVICE =
  'Find the source of the flood; on Google Workspace, GMAIL_DAILY_LIMIT may be raised to 2000.';

/** What to do when the guard is not simply sending. */
const QUOTA_WARNINGS = {
  fold: `New alerts are folded into one digest per recipient list, sent ${DIGEST_INTERVAL_SECONDS / 60} minutes after its first alert. ${FLOOD_ADVICE}`,
  hold: `New alerts wait on the alerts queue until the 24-hour window has room; nothing is dropped. ${FLOOD_ADVICE}`,
} as const;

/** Why the state table could not be read, and what to do. */
function stateTableFailure(
  error: unknown,
  table: string,
  timeoutMs: number,
): { detail: string; fix: string } {
  const code = codeOf(error);
  const elsewhere =
    'Check AWS credentials and AWS_REGION; inside a VPC, DynamoDB needs a NAT gateway route or a gateway endpoint (TCP 443).';
  if (error instanceof ProbeTimeoutError) {
    return { detail: `The state table ${table} did not answer within ${seconds(timeoutMs)}`, fix: elsewhere };
  }
  if (code === 'AccessDeniedException') {
    return {
      detail: `Not allowed to read the quota counters in ${table} (${code})`,
      fix: `Allow dynamodb:BatchGetItem on ${table} for keys starting with ${STATE_TABLE_SCHEMA.prefixes.quota} (the stack grants the doctor function exactly that).`,
    };
  }
  if (code === 'ResourceNotFoundException') {
    return {
      detail: `No table ${table} in this account and region (${code})`,
      fix: `Set ${ENVIRONMENT_VARIABLES.stateTable} to the stack's state table (the functions' environment names it), with AWS_REGION where it is.`,
    };
  }
  return { detail: `The state table ${table} could not be read (${code})`, fix: elsewhere };
}

/**
 * Reads the quota guard's count of recipients in Gmail's rolling 24 h, as the functions do, and says
 * what the guard does with the next alert. From 80 %, or when the table cannot be read, the step
 * warns but does not fail the diagnosis: the functions mail alerts without the table too.
 */
export async function checkQuotaGuard(
  config: AlertConfig,
  timeoutMs: number,
): Promise<StepFinding<undefined>> {
  const table = config.stateTable;
  if (!table) {
    return {
      ...found(`${ENVIRONMENT_VARIABLES.stateTable} is not set: the functions keep no count`),
      skipped: true,
    };
  }
  const clients = createStateClients(table);
  try {
    const guard = new QuotaGuard(clients, config.gmailDailyLimit);
    const reading = await withTimeout(
      readQuota(guard, config.alertTo.length),
      timeoutMs,
      `the state table ${table}`,
    );
    const finding = found(quotaSummary(reading));
    return reading.verdict === 'send' ? finding : { ...finding, warning: QUOTA_WARNINGS[reading.verdict] };
  } catch (error) {
    const failure = stateTableFailure(error, table, timeoutMs);
    return { ...found(failure.detail), warning: failure.fix };
  } finally {
    // A request given up on must not keep the command (or the invocation) waiting.
    clients.client.destroy();
  }
}

/** Resolves SMTP_HOST. */
export async function lookUpHost({ host }: Smtp, timeoutMs: number): Promise<StepFinding<undefined>> {
  try {
    const addresses = await resolveHost(host, timeoutMs);
    return found(addresses[0] === host ? `${host} is an IP address` : `${host} → ${addresses.join(', ')}`);
  } catch (error) {
    const code = codeOf(error);
    if (code === 'ENOTFOUND' || code === 'ENODATA') {
      throw new DiagnosisStepError(
        `${host} does not resolve (${code})`,
        'Check SMTP_HOST (Gmail: smtp.gmail.com).',
      );
    }
    throw new DiagnosisStepError(
      `No DNS answer for ${host} (${code})`,
      'This network cannot resolve names: check the DNS resolver (in a VPC: enableDnsSupport) and the network connection.',
    );
  }
}

/** Opens the TCP connection the later steps talk over; a timeout or refusal names outbound blocking. */
export async function reachPort(smtp: Smtp, timeoutMs: number): Promise<StepFinding<SmtpProbe>> {
  try {
    const socket = await connectTcp(smtp.host, smtp.port, timeoutMs);
    return found(`${smtp.host}:${smtp.port} connected (${socket.remoteAddress})`, new SmtpProbe(socket));
  } catch (error) {
    throw connectFailure(error, smtp, timeoutMs);
  }
}

/** Tells implicit TLS (465) from STARTTLS (587) by what the port does, and names a mismatch. */
export async function checkTlsMode(
  smtp: Smtp,
  probe: SmtpProbe,
  timeoutMs: number,
): Promise<StepFinding<TlsModeFinding>> {
  return smtp.secure ? implicitTlsMode(smtp, probe, timeoutMs) : startTlsMode(smtp, probe, timeoutMs);
}

/** Implicit TLS expected: the handshake must work from the first byte. */
async function implicitTlsMode(
  { host, port }: Smtp,
  probe: SmtpProbe,
  timeoutMs: number,
): Promise<StepFinding<TlsModeFinding>> {
  const detail = `${host}:${port} speaks TLS from the first byte (as on 465)`;
  try {
    return found(detail, { mode: 'implicit', tls: await probe.upgrade(host, port, timeoutMs) });
  } catch (error) {
    // A refused certificate still proves the port speaks TLS; the certificate step reports it.
    if (isCertificateError(error)) return found(detail, { mode: 'implicit', certificateError: error });
    const greeting = await readPlainGreeting(host, port, timeoutMs);
    if (greeting) {
      throw new DiagnosisStepError(
        `TLS mode mismatch: SMTP_SECURE=true expects implicit TLS (as on 465), but ${host}:${port} greets in plain text and expects STARTTLS (as on 587): "${greeting.text}". This is what surfaces elsewhere as "wrong version number".`,
        `Use SMTP_SECURE=false for port ${port} (STARTTLS), or port 465 with SMTP_SECURE=true.`,
      );
    }
    throw new DiagnosisStepError(
      `No TLS handshake with ${host}:${port} (${codeOf(error)})`,
      'Check SMTP_PORT (Gmail: 465 with SMTP_SECURE=true, or 587 with SMTP_SECURE=false) and that nothing on the way intercepts the connection.',
    );
  }
}

/** STARTTLS expected: a plain-text greeting, then STARTTLS on offer. */
async function startTlsMode(
  { host, port }: Smtp,
  probe: SmtpProbe,
  timeoutMs: number,
): Promise<StepFinding<TlsModeFinding>> {
  let greeting: SmtpReply;
  try {
    greeting = await probe.read(timeoutMs, 'greeting');
  } catch (error) {
    if (error instanceof ProbeTimeoutError && (await speaksImplicitTls(host, port, timeoutMs))) {
      throw new DiagnosisStepError(
        `TLS mode mismatch: SMTP_SECURE=false expects a plain-text greeting and STARTTLS (as on 587), but ${host}:${port} is silent until a TLS handshake: it speaks implicit TLS (as on 465).`,
        `Use SMTP_SECURE=true for port ${port} (implicit TLS), or port 587 with SMTP_SECURE=false.`,
      );
    }
    throw new DiagnosisStepError(
      error instanceof ProbeTimeoutError
        ? `Connected to ${host}:${port}, but no SMTP greeting within ${seconds(timeoutMs)}`
        : `${host}:${port} closed the connection before greeting (${codeOf(error)})`,
      'A firewall or proxy may be holding SMTP connections; check that SMTP_PORT is a submission port (587 or 465).',
    );
  }
  if (greeting.code !== 220) throw sessionRefused(greeting);
  const ehlo = await probe.command('EHLO [127.0.0.1]', timeoutMs);
  if (ehlo.code !== 250) throw new DiagnosisStepError(`EHLO refused: ${ehlo.text}`, 'Check SMTP_HOST.');
  if (!ehlo.lines.some((line) => /^STARTTLS\b/i.test(line))) {
    throw new DiagnosisStepError(
      `${host}:${port} greets in plain text but does not offer STARTTLS`,
      'Gmail always offers STARTTLS on 587: something on the way strips it (an SMTP-inspecting firewall or antivirus), or SMTP_HOST is not Gmail. Never send the password without TLS.',
    );
  }
  return found(`${host}:${port} greets in plain text and offers STARTTLS (as on 587)`, { mode: 'starttls' });
}

/** Completes TLS (STARTTLS on 587) and verifies the certificate the standard way. */
export async function checkCertificate(
  { host, port }: Smtp,
  probe: SmtpProbe,
  tlsMode: TlsModeFinding,
  timeoutMs: number,
): Promise<StepFinding<undefined>> {
  let tls: TLSSocket;
  try {
    if ('certificateError' in tlsMode) throw tlsMode.certificateError;
    if (tlsMode.mode === 'implicit') tls = tlsMode.tls;
    else {
      const reply = await probe.command('STARTTLS', timeoutMs);
      if (reply.code !== 220) {
        throw new DiagnosisStepError(
          `The server refused STARTTLS: ${reply.text}`,
          'Gmail always accepts STARTTLS on 587: check SMTP_HOST.',
        );
      }
      tls = await probe.upgrade(host, port, timeoutMs);
    }
  } catch (error) {
    if (isCertificateError(error)) throw certificateFailure(error, host);
    if (error instanceof DiagnosisStepError) throw error;
    throw new DiagnosisStepError(
      `TLS handshake with ${host}:${port} failed (${codeOf(error)})`,
      'Something between here and Gmail interferes with TLS: try another network, or check the proxy or firewall.',
    );
  }
  const certificate = tls.getPeerCertificate();
  const subject = certificate.subject?.CN ?? host;
  const issuer = certificate.issuer?.CN ?? certificate.issuer?.O ?? 'unknown issuer';
  const until = certificate.valid_to ? new Date(certificate.valid_to).toISOString().slice(0, 10) : '?';
  return found(`${subject}, issued by ${issuer}, valid until ${until}, ${tls.getProtocol()}`);
}

/**
 * AUTH with the credentials, as the functions send it: PLAIN with a password, XOAUTH2 with the
 * access token of an OAuth secret. A refusal is explained by the reply table.
 */
export async function authenticate(
  { secure, host }: Smtp,
  probe: SmtpProbe,
  credentials: GmailCredentials,
  timeoutMs: number,
  accessToken?: string,
): Promise<StepFinding<undefined>> {
  if (secure) {
    const greeting = await probe.read(timeoutMs, 'greeting');
    if (greeting.code !== 220) throw sessionRefused(greeting);
  }
  const method = accessToken === undefined ? 'PLAIN' : 'XOAUTH2';
  const ehlo = await probe.command('EHLO [127.0.0.1]', timeoutMs);
  if (!ehlo.lines.some((line) => new RegExp(`^AUTH\\b.*\\b${method}\\b`, 'i').test(line))) {
    throw new DiagnosisStepError(
      `The server does not offer AUTH ${method} after TLS: ${ehlo.text}`,
      `Check SMTP_HOST: Gmail offers AUTH ${method} after STARTTLS.`,
    );
  }
  let reply: SmtpReply;
  if ('password' in credentials) {
    reply = await probe.command(`AUTH PLAIN ${authPlainToken(credentials)}`, timeoutMs);
  } else if (accessToken === undefined) {
    throw new DiagnosisStepError('No access token to sign in with', 'Run the token request first.');
  } else {
    reply = await probe.command(`AUTH XOAUTH2 ${xoauth2Token(credentials.username, accessToken)}`, timeoutMs);
    // Gmail answers a token it does not take with 334 and a base64 JSON error; its 535 follows an empty line.
    if (reply.code === 334) reply = await probe.command('', timeoutMs);
  }
  if (reply.code === 235) return found(`${credentials.username} accepted (${reply.text})`);
  const kind = credentialsKind(credentials);
  const meaning = lookupGmailReply(reply.code, enhancedStatusOf(reply.text), smtpServiceOf(host));
  if (!meaning) {
    throw new DiagnosisStepError(
      `AUTH ${method} was not accepted: ${reply.text}`,
      'Check SMTP_HOST and the credentials.',
    );
  }
  if (kind !== 'app-password' && meaning.failureClass === 'auth') {
    const refused = lookupOAuthReply(kind as OAuthKind, 'XOAUTH2');
    throw new DiagnosisStepError(`${refused.cause}: ${reply.text}`, refused.advice);
  }
  throw new DiagnosisStepError(`${meaning.cause}: ${reply.text}`, adviceFor(meaning, credentials.username));
}

/** Sends a test alert through the same sender the functions use; skipped unless requested. */
export async function sendTestMessage(
  { config, source }: OperatorConfig,
  credentials: GmailCredentials,
  test: { to: string[]; trustRecipients: boolean } | undefined,
  timeoutMs: number,
): Promise<StepFinding<undefined>> {
  if (!test) return { ...found('not requested'), skipped: true };
  const recipients: string[] = [];
  for (const entry of test.to) {
    const checked = normaliseAddress(entry);
    if ('problem' in checked)
      throw new DiagnosisStepError(
        `The recipient "${entry}" ${checked.problem}`,
        'Name one bare address like you@example.com.',
      );
    recipients.push(checked.address);
  }
  const senderConfig: AlertConfig = test.trustRecipients
    ? {
        ...config,
        alertTo: recipients,
        allowedRecipients: { addresses: new Set(recipients), domains: new Set() },
      }
    : config;
  let sender: GmailSender | undefined;
  try {
    const alert = parseAlert(
      {
        subject: 'Test alert from the gmail-alerts doctor',
        text: 'If you can read this, alerts from this set-up reach this mailbox.',
        severity: 'info',
        source: 'gmail-alerts doctor',
        ...(recipients.length > 0 && !test.trustRecipients ? { to: recipients } : {}),
      },
      senderConfig,
    );
    sender = new GmailSender(senderConfig, source.kind === 'direct' ? async () => credentials : undefined);
    const receipt = await sender.send(alert, { deadlineMs: timeoutMs * 3 });
    return found(`sent to ${receipt.accepted.join(', ')} (${receipt.messageId})`);
  } catch (error) {
    if (error instanceof AlertError) throw new DiagnosisStepError(error.message, error.advice);
    throw error;
  } finally {
    sender?.close();
  }
}
