import type { TLSSocket } from 'node:tls';
import { parseAlert } from './alert.ts';
import type { AlertConfig } from './config.ts';
import { type CredentialsSource, credentialsShapeProblem, loadOperatorConfig } from './diagnose-config.ts';
import {
  connectTcp,
  isCertificateError,
  ProbeTimeoutError,
  readPlainGreeting,
  resolveHost,
  SmtpProbe,
  type SmtpReply,
  speaksImplicitTls,
  withTimeout,
} from './diagnose-smtp.ts';
import { AlertError } from './errors.ts';
import { fetchGmailCredentials, type GmailCredentials } from './gmail-credentials.ts';
import { GmailSender } from './gmail-sender.ts';
import { normaliseAddress } from './recipients.ts';

/** What the steps share: the inputs, and what each step found for the next one. */
export interface DiagnosisContext {
  readonly env: Record<string, string | undefined>;
  readonly timeoutMs: number;
  readonly testMessage: { to: string[]; trustRecipients: boolean } | undefined;
  config?: AlertConfig;
  source?: CredentialsSource;
  credentials?: GmailCredentials;
  probe?: SmtpProbe;
  /** Set when implicit TLS got as far as a certificate the client refused. */
  certificateError?: unknown;
  tls?: TLSSocket;
}

/** A step's failure: one line of cause, one line of fix. */
export class DiagnosisStepError extends Error {
  readonly fix: string;

  constructor(cause: string, fix: string) {
    super(cause);
    this.name = 'DiagnosisStepError';
    this.fix = fix;
  }
}

/** A step that had nothing to do, with the reason. */
export class StepSkipped {
  readonly reason: string;

  constructor(reason: string) {
    this.reason = reason;
  }
}

const appPasswordFix = (username: string | undefined) =>
  `Turn on 2-Step Verification for the account, create an App Password under Google Account → Security → App passwords (https://myaccount.google.com/apppasswords), and use the full address${username?.includes('@') ? ` (${username})` : ' (you@gmail.com or you@your-domain)'} as the username.`;

const outboundFix = (port: number) =>
  `Allow outbound TCP ${port} on the way out: the security group's egress rules, a NAT gateway route for private subnets, or the corporate firewall${port === 25 ? '; port 25 is blocked on AWS, use 587 or 465' : ''}.`;

const codeOf = (error: unknown) => String((error as { code?: unknown }).code ?? (error as Error).name);

const seconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

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

// Steps run in order and each relies on what the previous ones set.
const smtpOf = (context: DiagnosisContext) => (context.config as AlertConfig).smtp;

/** Reads the configuration as the functions do; a TLS-mode mismatch of port and SMTP_SECURE is named as such. */
export async function checkConfiguration(context: DiagnosisContext): Promise<string> {
  try {
    const { config, source } = loadOperatorConfig(context.env);
    context.config = config;
    context.source = source;
  } catch (error) {
    if (!(error instanceof AlertError)) throw error;
    const mismatch = (error as { variable?: string }).variable === 'SMTP_SECURE';
    throw new DiagnosisStepError(`${mismatch ? 'TLS mode mismatch: ' : ''}${error.message}`, error.advice);
  }
  const { host, port, secure } = smtpOf(context);
  const from =
    context.source?.kind === 'secret' ? `secret ${context.source.secretId}` : 'GMAIL_USER/GMAIL_APP_PASSWORD';
  return `${host}:${port} ${secure ? 'implicit TLS' : 'STARTTLS'}, credentials from ${from}`;
}

/** Reads the secret (when one is used), bypassing any cache. */
export async function readSecret(context: DiagnosisContext): Promise<string> {
  const source = context.source as CredentialsSource;
  if (source.kind === 'direct') {
    context.credentials = source.credentials;
    throw new StepSkipped('GMAIL_USER and GMAIL_APP_PASSWORD are used instead');
  }
  try {
    context.credentials = await withTimeout(
      fetchGmailCredentials(source.secretId, { maxAgeSeconds: 0, forceFetch: true }),
      context.timeoutMs * 2,
      'Secrets Manager',
    );
  } catch (error) {
    if (error instanceof AlertError && error.failureClass === 'config') {
      throw new DiagnosisStepError(error.message, error.advice);
    }
    const cause = (error as { cause?: { name?: string } }).cause;
    throw new DiagnosisStepError(
      error instanceof ProbeTimeoutError
        ? `Secrets Manager did not answer within ${seconds(context.timeoutMs * 2)}`
        : `Secrets Manager could not be read (${cause?.name ?? codeOf(error)})`,
      'Check AWS credentials and AWS_REGION; inside a VPC, Secrets Manager needs a NAT gateway route or an interface endpoint (TCP 443).',
    );
  }
  return `${source.secretId}: username ${context.credentials.username}`;
}

/** Flags an account password before any login attempt counts against the account. */
export async function checkPasswordShape(context: DiagnosisContext): Promise<string> {
  const problem = credentialsShapeProblem(context.credentials as GmailCredentials);
  if (problem) throw new DiagnosisStepError(problem, appPasswordFix(context.credentials?.username));
  return `username ${context.credentials?.username}, password 16 letters`;
}

/** Resolves SMTP_HOST. */
export async function lookUpHost(context: DiagnosisContext): Promise<string> {
  const { host } = smtpOf(context);
  try {
    const addresses = await resolveHost(host, context.timeoutMs);
    return addresses[0] === host ? `${host} is an IP address` : `${host} → ${addresses.join(', ')}`;
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

/** Opens the TCP connection; a timeout or refusal names outbound blocking. */
export async function reachPort(context: DiagnosisContext): Promise<string> {
  const { host, port } = smtpOf(context);
  try {
    const socket = await connectTcp(host, port, context.timeoutMs);
    context.probe = new SmtpProbe(socket);
    return `${host}:${port} connected (${socket.remoteAddress})`;
  } catch (error) {
    const code = codeOf(error);
    const blocked: Record<string, string> = {
      ETIMEDOUT: `No answer from ${host}:${port} within ${seconds(context.timeoutMs)}: outbound TCP ${port} is blocked or dropped on the way`,
      ECONNREFUSED: `${host}:${port} refused the connection (ECONNREFUSED): nothing listens there, or a firewall rejects outbound TCP ${port}`,
      EHOSTUNREACH: `No route to ${host} (EHOSTUNREACH): outbound traffic is blocked or this network has no way out`,
      ENETUNREACH: `No route to ${host} (ENETUNREACH): this network has no way out (a VPC subnet without a NAT gateway?)`,
    };
    throw new DiagnosisStepError(
      blocked[code] ?? `Could not connect to ${host}:${port} (${code})`,
      outboundFix(port),
    );
  }
}

/** Tells implicit TLS (465) from STARTTLS (587) by what the port does, and names a mismatch. */
export async function checkTlsMode(context: DiagnosisContext): Promise<string> {
  return smtpOf(context).secure ? implicitTlsMode(context) : startTlsMode(context);
}

/** Implicit TLS expected: the handshake must work from the first byte. */
async function implicitTlsMode(context: DiagnosisContext): Promise<string> {
  const { host, port } = smtpOf(context);
  const probe = context.probe as SmtpProbe;
  try {
    context.tls = await probe.upgrade(host, port, context.timeoutMs);
  } catch (error) {
    if (isCertificateError(error)) {
      context.certificateError = error;
      return `${host}:${port} speaks TLS from the first byte (as on 465)`;
    }
    const greeting = await readPlainGreeting(host, port, context.timeoutMs);
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
  return `${host}:${port} speaks TLS from the first byte (as on 465)`;
}

/** STARTTLS expected: a plain-text greeting, then STARTTLS on offer. */
async function startTlsMode(context: DiagnosisContext): Promise<string> {
  const { host, port } = smtpOf(context);
  const probe = context.probe as SmtpProbe;
  let greeting: SmtpReply;
  try {
    greeting = await probe.read(context.timeoutMs, 'greeting');
  } catch (error) {
    if (error instanceof ProbeTimeoutError && (await speaksImplicitTls(host, port, context.timeoutMs))) {
      throw new DiagnosisStepError(
        `TLS mode mismatch: SMTP_SECURE=false expects a plain-text greeting and STARTTLS (as on 587), but ${host}:${port} is silent until a TLS handshake: it speaks implicit TLS (as on 465).`,
        `Use SMTP_SECURE=true for port ${port} (implicit TLS), or port 587 with SMTP_SECURE=false.`,
      );
    }
    throw new DiagnosisStepError(
      error instanceof ProbeTimeoutError
        ? `Connected to ${host}:${port}, but no SMTP greeting within ${seconds(context.timeoutMs)}`
        : `${host}:${port} closed the connection before greeting (${codeOf(error)})`,
      'A firewall or proxy may be holding SMTP connections; check that SMTP_PORT is a submission port (587 or 465).',
    );
  }
  if (greeting.code !== 220) {
    throw new DiagnosisStepError(
      `The server refused the session: ${greeting.text}`,
      greeting.code >= 400 && greeting.code < 500
        ? 'Gmail is busy or limiting this client: try again in a few minutes.'
        : 'The server does not accept this client: check SMTP_HOST and SMTP_PORT.',
    );
  }
  const ehlo = await probe.command('EHLO [127.0.0.1]', context.timeoutMs);
  if (ehlo.code !== 250) throw new DiagnosisStepError(`EHLO refused: ${ehlo.text}`, 'Check SMTP_HOST.');
  if (!ehlo.lines.some((line) => /^STARTTLS\b/i.test(line))) {
    throw new DiagnosisStepError(
      `${host}:${port} greets in plain text but does not offer STARTTLS`,
      'Gmail always offers STARTTLS on 587: something on the way strips it (an SMTP-inspecting firewall or antivirus), or SMTP_HOST is not Gmail. Never send the password without TLS.',
    );
  }
  return `${host}:${port} greets in plain text and offers STARTTLS (as on 587)`;
}

/** Completes TLS (STARTTLS on 587) and verifies the certificate the standard way. */
export async function checkCertificate(context: DiagnosisContext): Promise<string> {
  const { host, port, secure } = smtpOf(context);
  const probe = context.probe as SmtpProbe;
  try {
    if (context.certificateError) throw context.certificateError;
    if (!secure) {
      const reply = await probe.command('STARTTLS', context.timeoutMs);
      if (reply.code !== 220) {
        throw new DiagnosisStepError(
          `The server refused STARTTLS: ${reply.text}`,
          'Gmail always accepts STARTTLS on 587: check SMTP_HOST.',
        );
      }
      context.tls = await probe.upgrade(host, port, context.timeoutMs);
    }
  } catch (error) {
    if (!isCertificateError(error)) {
      if (error instanceof DiagnosisStepError) throw error;
      throw new DiagnosisStepError(
        `TLS handshake with ${host}:${port} failed (${codeOf(error)})`,
        'Something between here and Gmail interferes with TLS: try another network, or check the proxy or firewall.',
      );
    }
    throw certificateFailure(error, host);
  }
  const tls = context.tls as TLSSocket;
  const certificate = tls.getPeerCertificate();
  const subject = certificate.subject?.CN ?? host;
  const issuer = certificate.issuer?.CN ?? certificate.issuer?.O ?? 'unknown issuer';
  const until = certificate.valid_to ? new Date(certificate.valid_to).toISOString().slice(0, 10) : '?';
  return `${subject}, issued by ${issuer}, valid until ${until}, ${tls.getProtocol()}`;
}

/** AUTH PLAIN with the credentials, as the functions send it; 534/535 name the App Password procedure. */
export async function authenticate(context: DiagnosisContext): Promise<string> {
  const { secure } = smtpOf(context);
  const probe = context.probe as SmtpProbe;
  const credentials = context.credentials as GmailCredentials;
  if (secure) {
    const greeting = await probe.read(context.timeoutMs, 'greeting');
    if (greeting.code !== 220)
      throw new DiagnosisStepError(
        `The server refused the session: ${greeting.text}`,
        'Try again later; check SMTP_HOST.',
      );
  }
  const ehlo = await probe.command('EHLO [127.0.0.1]', context.timeoutMs);
  if (!ehlo.lines.some((line) => /^AUTH\b.*\bPLAIN\b/i.test(line))) {
    throw new DiagnosisStepError(
      `The server does not offer AUTH PLAIN after TLS: ${ehlo.text}`,
      'Check SMTP_HOST: Gmail offers AUTH PLAIN after STARTTLS.',
    );
  }
  const token = Buffer.from(`\u0000${credentials.username}\u0000${credentials.password}`, 'utf8').toString(
    'base64',
  );
  const reply = await probe.command(`AUTH PLAIN ${token}`, context.timeoutMs);
  if (reply.code === 235) return `${credentials.username} accepted (${reply.text})`;
  const enhanced = /^\d{3} (\d\.\d{1,3}\.\d{1,3})/.exec(reply.text)?.[1];
  if (reply.code === 534 && enhanced === '5.7.14') {
    throw new DiagnosisStepError(
      `Gmail wants a browser sign-in first: ${reply.text}`,
      'Sign in to the account at https://accounts.google.com from a browser, then use an App Password.',
    );
  }
  if (reply.code === 534) {
    throw new DiagnosisStepError(
      `Gmail wants an App Password, not the account password: ${reply.text}`,
      appPasswordFix(credentials.username),
    );
  }
  if (reply.code === 535) {
    throw new DiagnosisStepError(
      `Gmail refused the username or App Password (wrong, revoked, or an account password): ${reply.text}`,
      appPasswordFix(credentials.username),
    );
  }
  if (reply.code === 454) {
    throw new DiagnosisStepError(
      `Gmail is refusing logins for now: ${reply.text}`,
      'Wait at least 10 minutes before trying again (every failed attempt extends the block), then check the App Password.',
    );
  }
  throw new DiagnosisStepError(
    `AUTH PLAIN was not accepted: ${reply.text}`,
    'Check SMTP_HOST and the credentials.',
  );
}

/** Sends a test alert through the same sender the functions use. */
export async function sendTestMessage(context: DiagnosisContext): Promise<string> {
  const test = context.testMessage;
  if (!test) throw new StepSkipped('not requested');
  context.probe?.close();
  const config = context.config as AlertConfig;
  const source = context.source as CredentialsSource;
  const credentials = context.credentials as GmailCredentials;
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
    const receipt = await sender.send(alert, { deadlineMs: context.timeoutMs * 3 });
    return `sent to ${receipt.accepted.join(', ')} (${receipt.messageId})`;
  } catch (error) {
    if (error instanceof AlertError) throw new DiagnosisStepError(error.message, error.advice);
    throw error;
  } finally {
    sender?.close();
  }
}
