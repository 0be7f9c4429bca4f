import { type AlertConfig, loadConfig } from './config.ts';
import { ConfigError } from './errors.ts';
import { GmailSender } from './gmail-sender.ts';
import { describeFailure, logger } from './logger.ts';

/** What a container keeps between invocations: the validated configuration and the warm sender. */
export interface AlertRuntime {
  config: AlertConfig;
  sender: GmailSender;
}

/**
 * Validates the configuration once, at cold start, and starts fetching the Gmail secret. A broken
 * configuration is logged once here and reported by every invocation, instead of failing the init
 * phase with a message nobody sees.
 */
export function initRuntime(env: Record<string, string | undefined> = process.env): () => AlertRuntime {
  let runtime: AlertRuntime | undefined;
  let failure: ConfigError | undefined;
  try {
    const config = loadConfig(env);
    const sender = new GmailSender(config);
    sender.prefetchCredentials();
    runtime = { config, sender };
  } catch (error) {
    failure =
      error instanceof ConfigError
        ? error
        : new ConfigError('environment', 'could not be read', undefined, { cause: error });
    logger.error('Configuration error', describeFailure(failure));
  }
  return () => {
    if (runtime) return runtime;
    throw failure;
  };
}
