import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

let client: SecretsManagerClient | undefined;

/**
 * The container's one Secrets Manager client, shared by every secret it reads (the Gmail secret, the
 * signing key's versions). A client's first request pays for its setup (configuration, credentials,
 * endpoint rules), on a cold start's critical path; one client pays it once.
 */
export function secretsClient(): SecretsManagerClient {
  client ??= new SecretsManagerClient({ maxAttempts: 2 });
  return client;
}
