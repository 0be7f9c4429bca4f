import { createError } from '@middy/util';
import { AlertError, AlertValidationError } from './errors.ts';

const STATUS_BY_CLASS: Record<string, number> = {
  invalid: 400,
  'too-large': 413,
  config: 500,
  transient: 503,
  quota: 503,
  auth: 502,
  tls: 502,
  recipient: 502,
  permanent: 502,
};

/**
 * Turns a failure into an HTTP error that Middy's http-error-handler answers with a JSON body:
 * `{error: {class, message, advice, fields?}}`. Unexpected errors become a bare 500, never a stack trace.
 */
export function toHttpError(error: unknown, headers: Record<string, string> = {}) {
  if (!(error instanceof AlertError)) return error;
  const status = STATUS_BY_CLASS[error.failureClass] ?? 500;
  const body = {
    error: {
      class: error.failureClass,
      message: error.message,
      advice: error.advice,
      ...(error instanceof AlertValidationError ? { fields: error.issues } : {}),
    },
  };
  // Middy's createError ignores headers in its options; http-error-handler reads them off the error.
  return Object.assign(createError(status, JSON.stringify(body), { expose: true }), { headers });
}
