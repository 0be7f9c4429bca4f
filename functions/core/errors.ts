/**
 * The failure classes an alert can end in. Each one decides what happens to the alert (see deliverOrPark):
 * `transient` is retried and `quota` held on the queue; `config` is retried too, since someone can fix
 * the deployment meanwhile, until the queue's last receive, then parked in the dead-letter queue; the
 * others can never succeed as sent and are parked at once.
 */
export type FailureClass =
  | 'transient'
  | 'quota'
  | 'auth'
  | 'tls'
  | 'recipient'
  | 'permanent'
  | 'invalid'
  | 'too-large'
  | 'config';

/** Classes that a later attempt can fix without anyone changing anything. */
export const RETRYABLE_CLASSES: ReadonlySet<FailureClass> = new Set(['transient', 'quota']);

/** Base of every error this product raises on purpose: a class and one line a person can act on. */
export class AlertError extends Error {
  readonly failureClass: FailureClass;
  readonly advice: string;

  constructor(message: string, failureClass: FailureClass, advice: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AlertError';
    this.failureClass = failureClass;
    this.advice = advice;
  }

  get retryable(): boolean {
    return RETRYABLE_CLASSES.has(this.failureClass);
  }
}

/** One problem with one input field, named by its path (`subject`, `to[2]`, `links[0].url`). */
export interface FieldIssue {
  field: string;
  message: string;
}

/** The alert a caller sent is not acceptable; nothing was sent. */
export class AlertValidationError extends AlertError {
  readonly issues: FieldIssue[];

  constructor(issues: FieldIssue[]) {
    const summary = issues.map((issue) => `${issue.field}: ${issue.message}`).join('; ');
    super(`Invalid alert: ${summary}`, 'invalid', 'Fix the named fields and send the alert again.');
    this.name = 'AlertValidationError';
    this.issues = issues;
  }
}

/** The alert is larger than the product accepts. */
export class AlertTooLargeError extends AlertError {
  readonly limitBytes: number;

  constructor(sizeBytes: number, limitBytes: number) {
    super(
      `Alert is ${sizeBytes} bytes; the limit is ${limitBytes} bytes`,
      'too-large',
      'Send a shorter text; link to the details instead of including them.',
    );
    this.name = 'AlertTooLargeError';
    this.limitBytes = limitBytes;
  }
}

/** The deployment is misconfigured: an environment variable or the Gmail secret. */
export class ConfigError extends AlertError {
  readonly variable: string;

  constructor(variable: string, problem: string, advice?: string, options?: ErrorOptions) {
    super(`${variable}: ${problem}`, 'config', advice ?? `Fix ${variable} and redeploy.`, options);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/** Sending through Gmail failed; `failureClass` says how Gmail meant it. */
export class DeliveryError extends AlertError {
  readonly code: string | undefined;
  readonly responseCode: number | undefined;
  readonly command: string | undefined;

  constructor(
    message: string,
    failureClass: FailureClass,
    advice: string,
    details: { code?: string | undefined; responseCode?: number | undefined; command?: string | undefined },
    options?: ErrorOptions,
  ) {
    super(message, failureClass, advice, options);
    this.name = 'DeliveryError';
    this.code = details.code;
    this.responseCode = details.responseCode;
    this.command = details.command;
  }
}

/** Reading the Gmail secret failed for a reason that may pass (throttling, a network error). */
export class SecretUnavailableError extends AlertError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'transient', 'Secrets Manager did not answer; the alert is retried.', options);
    this.name = 'SecretUnavailableError';
  }
}

/**
 * Google's token endpoint issued no access token for an OAuth secret. `failureClass` says whether
 * waiting helps (`transient`: unreachable, throttled, failing) or someone must act (`auth`).
 */
export class TokenRequestError extends AlertError {
  /** The endpoint's RFC 6749 `error` code (`invalid_grant`), when it sent one. */
  readonly oauthError: string | undefined;
  /** The HTTP status, when the endpoint answered. */
  readonly status: number | undefined;

  constructor(
    message: string,
    failureClass: FailureClass,
    advice: string,
    details: { oauthError?: string | undefined; status?: number | undefined },
    options?: ErrorOptions,
  ) {
    super(message, failureClass, advice, options);
    this.name = 'TokenRequestError';
    this.oauthError = details.oauthError;
    this.status = details.status;
  }
}

/**
 * The quota guard holds the alert: sending it would use the room GMAIL_DAILY_LIMIT leaves. Class
 * `quota`, so it is held on the queue exactly as Gmail's own 550 5.4.5 is.
 */
export class QuotaGuardHoldError extends AlertError {
  readonly used: number;
  readonly limit: number;

  constructor(used: number, limit: number) {
    super(
      `Held by the quota guard: ${used} of ${limit} recipients in the last 24 hours already sent`,
      'quota',
      'Held on the alerts queue until the 24-hour window has room; raise GMAIL_DAILY_LIMIT to 2000 on Google Workspace.',
    );
    this.name = 'QuotaGuardHoldError';
    this.used = used;
    this.limit = limit;
  }
}
