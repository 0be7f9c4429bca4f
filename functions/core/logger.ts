import { Logger } from '@aws-lambda-powertools/logger';
import { CONTRACT_DEFAULTS, ENVIRONMENT_VARIABLES } from './config-contract.ts';
import { AlertError, AlertValidationError, DeliveryError } from './errors.ts';

/** Structured JSON logs for every function (Powertools Logger; level from POWERTOOLS_LOG_LEVEL). */
export const logger = new Logger({
  serviceName: process.env[ENVIRONMENT_VARIABLES.serviceName] ?? CONTRACT_DEFAULTS.serviceName,
});

/**
 * The fields of an error that are safe and useful in a log line. Never the error's `cause`:
 * that is where a library could carry a command or a secret value.
 */
export function describeFailure(error: unknown): Record<string, unknown> {
  if (error instanceof AlertError) {
    return {
      failureClass: error.failureClass,
      error: error.message,
      advice: error.advice,
      ...(error instanceof DeliveryError
        ? { code: error.code, responseCode: error.responseCode, command: error.command?.split(' ')[0] }
        : {}),
      ...(error instanceof AlertValidationError ? { issues: error.issues } : {}),
    };
  }
  return { failureClass: 'unexpected', error: error instanceof Error ? error.name : 'non-error thrown' };
}
