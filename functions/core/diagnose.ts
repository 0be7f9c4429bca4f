import {
  authenticate,
  checkCertificate,
  checkConfiguration,
  checkPasswordShape,
  checkTlsMode,
  type DiagnosisContext,
  DiagnosisStepError,
  lookUpHost,
  reachPort,
  readSecret,
  StepSkipped,
  sendTestMessage,
  unexpectedFailure,
} from './diagnose-steps.ts';

export type DiagnosisStepId =
  | 'config'
  | 'secret'
  | 'app-password'
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
  status: 'pass' | 'fail' | 'skip';
  durationMs: number;
  /** What was found (on pass) or why the step did not run (on skip). */
  detail?: string;
  /** On fail: one line saying what is wrong. */
  cause?: string;
  /** On fail: one line saying what to do. */
  fix?: string;
}

/** The outcome of {@link diagnoseGmailSetup}; plain JSON, so the doctor function can return it as is. */
export interface DiagnosisReport {
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

/** The checks in order: each one stands on the ones before it. */
const PLAN: { id: DiagnosisStepId; title: string; run: (context: DiagnosisContext) => Promise<string> }[] = [
  { id: 'config', title: 'Configuration', run: checkConfiguration },
  { id: 'secret', title: 'Secret readable', run: readSecret },
  { id: 'app-password', title: 'App Password shape', run: checkPasswordShape },
  { id: 'dns', title: 'DNS lookup', run: lookUpHost },
  { id: 'tcp', title: 'TCP reach', run: reachPort },
  { id: 'tls-mode', title: 'TLS mode', run: checkTlsMode },
  { id: 'certificate', title: 'Certificate', run: checkCertificate },
  { id: 'auth', title: 'AUTH', run: authenticate },
  { id: 'test-message', title: 'Test message', run: sendTestMessage },
];

/**
 * Diagnoses a Gmail SMTP set-up step by step, the way the functions would use it: configuration,
 * secret, App Password shape, DNS, TCP reach, TLS mode against the port, certificate, AUTH and
 * optionally a test message. Stops at the first failure; every failure says its cause and its fix.
 * Never reports the password.
 *
 * @example
 * const report = await diagnoseGmailSetup({ env: process.env, timeoutMs: 5000 });
 * if (!report.ok) console.log(report.steps.at(-1)?.fix);
 */
export async function diagnoseGmailSetup(options: DiagnoseOptions): Promise<DiagnosisReport> {
  const context: DiagnosisContext = {
    env: options.env,
    timeoutMs: Math.round(options.timeoutMs),
    testMessage: options.testMessage,
  };
  const started = performance.now();
  const steps: DiagnosisStep[] = [];
  let failed = false;
  try {
    for (const { id, title, run } of PLAN) {
      options.onStepStart?.(id, title);
      const stepStarted = performance.now();
      let step: DiagnosisStep;
      try {
        const detail = await run(context);
        step = { id, title, status: 'pass', durationMs: 0, detail };
      } catch (error) {
        if (error instanceof StepSkipped) {
          step = { id, title, status: 'skip', durationMs: 0, detail: error.reason };
        } else {
          failed = true;
          const failure = error instanceof DiagnosisStepError ? error : unexpectedFailure(error);
          step = { id, title, status: 'fail', durationMs: 0, cause: failure.message, fix: failure.fix };
        }
      }
      step.durationMs = Math.round(performance.now() - stepStarted);
      steps.push(step);
      options.onStep?.(step);
      if (failed) break;
    }
  } finally {
    context.probe?.close();
    context.tls?.destroy();
  }
  const { host, port, secure } = context.config?.smtp ?? {};
  return {
    ok: !failed,
    ...(host ? { target: `${host}:${port} (${secure ? 'implicit TLS' : 'STARTTLS'})` } : {}),
    steps,
    durationMs: Math.round(performance.now() - started),
  };
}
