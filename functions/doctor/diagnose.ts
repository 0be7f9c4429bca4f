import { isOAuthCredentials } from '../core/gmail-credentials.ts';
import type { SmtpProbe } from './smtp-probe.ts';
import {
  authenticate,
  checkCertificate,
  checkConfiguration,
  checkPasswordShape,
  checkQuotaGuard,
  checkTlsMode,
  DiagnosisStepError,
  lookUpHost,
  reachPort,
  readSecret,
  requestAccessToken,
  type StepFinding,
  sendTestMessage,
  unexpectedFailure,
} from './steps.ts';

export type DiagnosisStepId =
  | 'config'
  | 'quota'
  | 'secret'
  | 'app-password'
  | 'oauth-shape'
  | 'oauth-token'
  | 'dns'
  | 'tcp'
  | 'tls-mode'
  | 'certificate'
  | 'auth'
  | 'test-message';

/** One check of the diagnosis: what it looked at, how long it took, and on failure why and what to do. */
export interface DiagnosisStep {
  id: DiagnosisStepId;
  title: string;
  /** `warn`: something to act on that does not fail the diagnosis (the quota guard's count). */
  status: 'pass' | 'warn' | 'fail' | 'skip';
  durationMs: number;
  /** What was found (on pass or warn) or why the step did not run (on skip). */
  detail?: string;
  /** On fail: one line saying what is wrong. */
  cause?: string;
  /** On fail or warn: one line saying what to do. */
  fix?: string;
}

/** The outcome of {@link diagnoseGmailSetup}; plain JSON, so the doctor function can return it as is. */
export interface DiagnosisReport {
  /** No step failed; warnings do not count. */
  ok: boolean;
  /** `smtp.gmail.com:587 (STARTTLS)`, once the configuration has been read. */
  target?: string;
  steps: DiagnosisStep[];
  durationMs: number;
}

export interface DiagnoseOptions {
  env: Record<string, string | undefined>;
  /** Bound for each network step (DNS, TCP, greeting, TLS, AUTH). */
  timeoutMs: number;
  /**
   * Send a test alert after the checks. `to` names recipients; `trustRecipients` lets them bypass the
   * allow-list (the operator at a terminal types them), otherwise they must be on it (the deployed function).
   */
  testMessage?: { to: string[]; trustRecipients: boolean };
  /** Progress: called when a step starts and when it ends. */
  onStepStart?: (id: DiagnosisStepId, title: string) => void;
  onStep?: (step: DiagnosisStep) => void;
}

const TITLES: Record<DiagnosisStepId, string> = {
  config: 'Configuration',
  quota: 'Quota guard',
  secret: 'Secret readable',
  'app-password': 'App Password shape',
  'oauth-shape': 'OAuth credentials shape',
  'oauth-token': 'Token request',
  dns: 'DNS lookup',
  tcp: 'TCP reach',
  'tls-mode': 'TLS mode',
  certificate: 'Certificate',
  auth: 'AUTH',
  'test-message': 'Test message',
};

/** Ends the run at the first failed step, once that step is recorded. */
class DiagnosisStopped extends Error {}

/** Runs steps one by one, recording each with its timing and telling the progress callbacks. */
class StepRecorder {
  readonly steps: DiagnosisStep[] = [];
  readonly #options: DiagnoseOptions;

  constructor(options: DiagnoseOptions) {
    this.#options = options;
  }

  get failed(): boolean {
    return this.steps.some((step) => step.status === 'fail');
  }

  /** Runs one step and returns what it found for the next; throws {@link DiagnosisStopped} when it failed. */
  async run<T>(id: DiagnosisStepId, check: () => Promise<StepFinding<T>>): Promise<T> {
    const title = TITLES[id];
    this.#options.onStepStart?.(id, title);
    const started = performance.now();
    const record = (step: Omit<DiagnosisStep, 'id' | 'title' | 'durationMs'>) => {
      const recorded = { id, title, durationMs: Math.round(performance.now() - started), ...step };
      this.steps.push(recorded);
      this.#options.onStep?.(recorded);
    };
    let finding: StepFinding<T>;
    try {
      finding = await check();
    } catch (error) {
      const failure = error instanceof DiagnosisStepError ? error : unexpectedFailure(error);
      record({ status: 'fail', cause: failure.message, fix: failure.fix });
      throw new DiagnosisStopped();
    }
    if (finding.warning !== undefined)
      record({ status: 'warn', detail: finding.detail, fix: finding.warning });
    else record({ status: finding.skipped ? 'skip' : 'pass', detail: finding.detail });
    return finding.value;
  }
}

/**
 * Diagnoses a Gmail SMTP set-up step by step, the way the functions would use it: configuration,
 * the quota guard's count (with a state table; it warns, never fails), secret, App Password shape (for an OAuth secret: its shape and a token request), DNS, TCP reach,
 * TLS mode against the port, certificate, AUTH (PLAIN, or XOAUTH2 with that token) and optionally a
 * test message. Each step hands what it found to the next; the run stops at the first
 * failure, and every failure says its cause and its fix. Never reports the password.
 *
 * @example
 * const report = await diagnoseGmailSetup({ env: process.env, timeoutMs: 5000 });
 * if (!report.ok) console.log(report.steps.at(-1)?.fix);
 */
export async function diagnoseGmailSetup(options: DiagnoseOptions): Promise<DiagnosisReport> {
  const timeoutMs = Math.round(options.timeoutMs);
  const started = performance.now();
  const recorder = new StepRecorder(options);
  let target: string | undefined;
  let probe: SmtpProbe | undefined;
  try {
    const operator = await recorder.run('config', () => checkConfiguration(options.env));
    const { smtp } = operator.config;
    target = `${smtp.host}:${smtp.port} (${smtp.secure ? 'implicit TLS' : 'STARTTLS'})`;
    // Early, and never stopping the run: the count matters most when Gmail is what fails.
    await recorder.run('quota', () => checkQuotaGuard(operator.config, timeoutMs));
    const credentials = await recorder.run('secret', () => readSecret(operator.source, timeoutMs));
    let accessToken: string | undefined;
    if (isOAuthCredentials(credentials)) {
      await recorder.run('oauth-shape', () => checkPasswordShape(credentials, smtp));
      accessToken = await recorder.run('oauth-token', () =>
        requestAccessToken(operator.config, credentials, timeoutMs),
      );
    } else {
      await recorder.run('app-password', () => checkPasswordShape(credentials, smtp));
    }
    await recorder.run('dns', () => lookUpHost(smtp, timeoutMs));
    const session = await recorder.run('tcp', () => reachPort(smtp, timeoutMs));
    probe = session;
    const tlsMode = await recorder.run('tls-mode', () => checkTlsMode(smtp, session, timeoutMs));
    await recorder.run('certificate', () => checkCertificate(smtp, session, tlsMode, timeoutMs));
    await recorder.run('auth', () => authenticate(smtp, session, credentials, timeoutMs, accessToken));
    // The test alert goes through the functions' own sender, on its own connection.
    session.close();
    await recorder.run('test-message', () =>
      sendTestMessage(operator, credentials, options.testMessage, timeoutMs),
    );
  } catch (error) {
    if (!(error instanceof DiagnosisStopped)) throw error;
  } finally {
    probe?.close();
  }
  return {
    ok: !recorder.failed,
    ...(target ? { target } : {}),
    steps: recorder.steps,
    durationMs: Math.round(performance.now() - started),
  };
}
