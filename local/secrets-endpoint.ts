import { createHash, randomUUID } from 'node:crypto';
import {
  AwsServiceError,
  serviceMembers,
  startAwsJsonEndpoint,
  unknownOperation,
} from './aws-json-endpoint.ts';

export type SecretsFault = 'throttle' | 'internal';

export interface SecretsEndpoint {
  /** For `AWS_ENDPOINT_URL_SECRETS_MANAGER`. */
  readonly url: string;
  /** GetSecretValue calls answered, faults included. */
  readonly calls: number;
  /** Added before every answer. */
  delayMs: number;
  /** Calls that asked for `id` (name or ARN, as the client sent it). */
  callsFor(id: string): number;
  /** ARN the endpoint reports for secret `name`. */
  arnOf(name: string): string;
  /**
   * Creates or rotates a secret; a new VersionId each time, as a rotation would. The value it
   * replaces stays readable as `VersionStage: 'AWSPREVIOUS'`, as after a rotation.
   */
  setSecret(name: string, value: string): void;
  failNext(fault: SecretsFault, times?: number): void;
  close(): Promise<void>;
}

interface StoredSecret {
  value: string;
  versionId: string;
  createdDate: number;
  /** The version a rotation moved to AWSPREVIOUS. */
  previous?: { value: string; versionId: string; createdDate: number };
}

const faultErrors: Record<SecretsFault, () => AwsServiceError> = {
  throttle: () => new AwsServiceError(400, 'ThrottlingException', 'Rate exceeded'),
  internal: () => new AwsServiceError(500, 'InternalServiceError', 'An error occurred on the server side.'),
};

// A real secret ARN ends in `-` and six random characters; derived from the name here so it is stable.
const arnOf = (name: string) =>
  `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-${createHash('sha256').update(name).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6)}`;

/**
 * Starts a loopback Secrets Manager that answers `GetSecretValue` in the AWS JSON 1.1 protocol, as the
 * real `@aws-sdk/client-secrets-manager` (and Powertools' `getSecret` on top of it) expects.
 */
export async function startSecretsEndpoint(
  options: { secrets?: Record<string, string> } = {},
): Promise<SecretsEndpoint> {
  const secrets = new Map<string, StoredSecret>();
  const callsById = new Map<string, number>();
  const faults: SecretsFault[] = [];
  let calls = 0;

  const setSecret = (name: string, value: string) => {
    const before = secrets.get(name);
    secrets.set(name, {
      value,
      versionId: randomUUID(),
      createdDate: Date.now() / 1000,
      ...(before
        ? { previous: { value: before.value, versionId: before.versionId, createdDate: before.createdDate } }
        : {}),
    });
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) setSecret(name, value);

  const getSecretValue = (input: Record<string, unknown>) => {
    const id = String(input.SecretId ?? '');
    calls += 1;
    callsById.set(id, (callsById.get(id) ?? 0) + 1);
    const fault = faults.shift();
    if (fault) throw faultErrors[fault]();
    const name = secrets.has(id) ? id : [...secrets.keys()].find((candidate) => arnOf(candidate) === id);
    const secret = name === undefined ? undefined : secrets.get(name);
    if (name === undefined || !secret) {
      throw new AwsServiceError(
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    }
    const stage = String(input.VersionStage ?? 'AWSCURRENT');
    const version = stage === 'AWSCURRENT' ? secret : stage === 'AWSPREVIOUS' ? secret.previous : undefined;
    if (!version) {
      throw new AwsServiceError(
        400,
        'ResourceNotFoundException',
        `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
      );
    }
    return {
      ARN: arnOf(name),
      Name: name,
      SecretString: version.value,
      VersionId: version.versionId,
      VersionStages: [stage],
      CreatedDate: version.createdDate,
    };
  };

  const endpoint = await startAwsJsonEndpoint({
    jsonVersion: '1.1',
    handle(target, input) {
      if (target === 'secretsmanager.GetSecretValue') return getSecretValue(input);
      throw unknownOperation(target);
    },
  });

  // Object.assign keeps the shared members' getters and setters.
  return Object.assign(
    serviceMembers(endpoint, () => calls),
    {
      callsFor: (id: string) => callsById.get(id) ?? 0,
      arnOf,
      setSecret,
      failNext(fault: SecretsFault, times = 1) {
        for (let i = 0; i < times; i += 1) faults.push(fault);
      },
    },
  );
}
