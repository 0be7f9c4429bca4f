// The local cloud as npm start and npm run invoke use it: the demo account, a fresh CA, and every
// message the Gmail-like server accepts saved to the outbox.

import { ENVIRONMENT_VARIABLES, parseSetting } from '../../functions/core/config-contract.ts';
import { testGmailAccount } from '../../local/gmail-server.ts';
import {
  LOCAL_SECRET_ID,
  type LocalCloud,
  type LocalSignIn,
  startLocalCloud,
} from '../../local/local-cloud.ts';
import { MAX_RECEIVE_COUNT } from '../../local/queue-relay.ts';
import { type Outbox, type OutboxEntry, openOutbox } from './outbox.ts';

/** The demo account: what the local secret holds and the local Gmail-like server accepts. */
export const DEMO_ACCOUNT = testGmailAccount;
export const DEMO_SECRET_ID = LOCAL_SECRET_ID;
export const DEMO_ALERT_TO = 'oncall@example.com';
export const DEMO_ALLOWED_RECIPIENTS = ['@example.com'];

/** The local cloud and the outbox its Gmail-like server saves into. */
export interface LocalStack extends LocalCloud {
  outbox: Outbox;
}

export interface LocalStackOptions {
  outboxDir: string;
  /** Called for every message the Gmail-like server accepted, after it is saved. */
  onMail?: (entry: OutboxEntry) => void;
  /** The secret's shape: the demo App Password (default), or OAuth tokens from the local token endpoint. */
  signIn?: LocalSignIn;
  /** Where the local API will listen: the mails' silence links point there. */
  silenceBaseUrl?: string;
}

/** A guard setting from the shell, when set there: `GMAIL_DAILY_LIMIT=10 npm start` shows the quota guard at work. */
function guardSetting<K extends 'repeatSeconds' | 'gmailDailyLimit'>(setting: K) {
  const text = process.env[ENVIRONMENT_VARIABLES[setting]]?.trim();
  return text ? parseSetting(setting, text) : undefined;
}

/** Starts the local cloud with the demo account and a fresh CA, saving received mail in the outbox. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const outbox = await openOutbox(options.outboxDir);
  const cloud = await startLocalCloud({
    account: DEMO_ACCOUNT,
    secretId: DEMO_SECRET_ID,
    signIn: options.signIn ?? 'app-password',
    freshCa: true,
    ...(options.silenceBaseUrl ? { silenceBaseUrl: options.silenceBaseUrl } : {}),
    gmail: {
      onMessage: async (message) => {
        const entry = await outbox.save(message.raw);
        options.onMail?.(entry);
      },
    },
    settings: {
      alertTo: [DEMO_ALERT_TO],
      allowedRecipients: DEMO_ALLOWED_RECIPIENTS,
      // The local relay's maxReceiveCount, as the stack sets the queue's.
      maxReceives: MAX_RECEIVE_COUNT,
      serviceName: 'gmail-alerts',
      logLevel: parseSetting('logLevel', process.env[ENVIRONMENT_VARIABLES.logLevel] ?? 'WARN'),
      repeatSeconds: guardSetting('repeatSeconds'),
      gmailDailyLimit: guardSetting('gmailDailyLimit'),
      timeZone: 'UTC',
    },
  });
  return Object.assign(cloud, { outbox });
}
