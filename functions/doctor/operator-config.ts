import { createPrivateKey } from 'node:crypto';
import { type AlertConfig, loadConfig } from '../core/config.ts';
import { ENVIRONMENT_VARIABLES } from '../core/config-contract.ts';
import { ConfigError } from '../core/errors.ts';
import { credentialsKind, type GmailCredentials } from '../core/gmail-credentials.ts';
import {
  appPasswordAdvice,
  lookupOAuthReply,
  SERVICE_REPLIES,
  type SmtpService,
} from '../core/gmail-replies.ts';
import { normaliseAddress } from '../core/recipients.ts';

/** Where the doctor takes the Gmail credentials from. */
export type CredentialsSource =
  | { kind: 'direct'; credentials: GmailCredentials }
  | { kind: 'secret'; secretId: string };

/** The configuration contract as the operator tools (doctor, send) read it: the functions' own, plus direct credentials. */
export interface OperatorConfig {
  config: AlertConfig;
  source: CredentialsSource;
}

type Env = Record<string, string | undefined>;

// loadConfig insists on a secret id; with direct credentials there is none, and nothing reads this one.
const NO_SECRET = 'none: GMAIL_USER and GMAIL_APP_PASSWORD are used';

/**
 * Reads the configuration the same way the functions do (`loadConfig`), and accepts
 * `GMAIL_USER` + `GMAIL_APP_PASSWORD` instead of `GMAIL_SECRET_ID` for a laptop without AWS access.
 * Throws the functions' own {@link ConfigError}, naming the variable.
 */
export function loadOperatorConfig(env: Env): OperatorConfig {
  const user = env.GMAIL_USER?.trim();
  const password = env.GMAIL_APP_PASSWORD?.replace(/\s+/g, '');
  if (user || password) {
    if (!user) {
      throw new ConfigError(
        'GMAIL_USER',
        'is not set, but GMAIL_APP_PASSWORD is',
        'Set GMAIL_USER to the full address of the account (you@gmail.com).',
      );
    }
    if (!password) {
      throw new ConfigError(
        'GMAIL_APP_PASSWORD',
        'is not set, but GMAIL_USER is',
        'Set GMAIL_APP_PASSWORD to the 16-letter App Password.',
      );
    }
    return {
      config: loadConfig({ ...env, [ENVIRONMENT_VARIABLES.secretId]: NO_SECRET }),
      source: { kind: 'direct', credentials: { username: user, password } },
    };
  }
  if (!env[ENVIRONMENT_VARIABLES.secretId]?.trim()) {
    throw new ConfigError(
      ENVIRONMENT_VARIABLES.secretId,
      'is not set, and neither are GMAIL_USER and GMAIL_APP_PASSWORD',
      'Set GMAIL_USER and GMAIL_APP_PASSWORD, or GMAIL_SECRET_ID (plus AWS credentials) to the secret the functions read.',
    );
  }
  const config = loadConfig(env);
  return { config, source: { kind: 'secret', secretId: config.secretId } };
}

/**
 * Checks that credentials look like what the service accepts over SMTP: the full address as username,
 * and a 16-letter App Password (Gmail and the Workspace relay), any SMTP password (Amazon SES), a
 * Google OAuth client ID, or a service account's address and a readable private key. Returns the
 * problem without repeating any part of a password, secret or key.
 */
export function credentialsShapeProblem(
  credentials: GmailCredentials,
  service: SmtpService = 'gmail',
): string | undefined {
  // SES SMTP credentials are an IAM-derived user name and password: neither is an address or an App Password.
  if (service === 'ses' && 'password' in credentials) {
    return credentials.username && credentials.password
      ? undefined
      : 'the SMTP user name or password is empty';
  }
  if ('problem' in normaliseAddress(credentials.username)) {
    return `the username "${credentials.username}" is not a full e-mail address`;
  }
  if ('refreshToken' in credentials) {
    return credentials.clientId.endsWith('.apps.googleusercontent.com')
      ? undefined
      : 'the clientId does not end in .apps.googleusercontent.com: it is not the ID of a Google OAuth client';
  }
  if ('privateKey' in credentials) {
    if ('problem' in normaliseAddress(credentials.serviceClient)) {
      return "the serviceClient is not the service account's e-mail address (client_email of its key file)";
    }
    try {
      createPrivateKey(credentials.privateKey);
      return undefined;
    } catch {
      return 'the privateKey is not a readable PEM private key (private_key of the key file)';
    }
  }
  const password = credentials.password.replace(/\s+/g, '');
  if (/^[a-z]{16}$/i.test(password)) return undefined;
  const problems = [
    password.length < 16 ? 'shorter than 16 characters' : '',
    password.length > 16 ? 'longer than 16 characters' : '',
    /[^a-z]/i.test(password) ? 'not only letters' : '',
  ].filter(Boolean);
  return `the password is ${problems.join(' and ')}: it looks like an account password, not a 16-letter App Password`;
}

/** The fix for credentials of the wrong shape, by how they sign in and to which service. */
export function shapeAdvice(credentials: GmailCredentials, service: SmtpService = 'gmail'): string {
  const kind = credentialsKind(credentials);
  if (kind !== 'app-password') return lookupOAuthReply(kind, 'XOAUTH2').advice;
  if (service === 'ses') return SERVICE_REPLIES.ses.sesCredentials.advice;
  return appPasswordAdvice(credentials.username);
}
