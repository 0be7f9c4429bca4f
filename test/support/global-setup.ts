import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestPki, writeTestPki } from '../../local/tls.ts';

let pkiDir: string | undefined;

/**
 * Creates the test PKI once per run and publishes it through the environment. Vitest builds each
 * forked worker's environment from `process.env` after this has run, so the workers start with
 * `NODE_EXTRA_CA_CERTS` set: Node only reads that variable at process start-up, which is why it has
 * to be set here and not in a test file.
 */
export async function setup(): Promise<void> {
  pkiDir = await mkdtemp(join(tmpdir(), 'gmail-alerts-pki-'));
  const files = await writeTestPki(pkiDir, await createTestPki());
  process.env.NODE_EXTRA_CA_CERTS = files.caFile;
  process.env.TEST_TLS_CA = files.caFile;
  process.env.TEST_TLS_CERT = files.certFile;
  process.env.TEST_TLS_KEY = files.keyFile;
}

export async function teardown(): Promise<void> {
  if (pkiDir) await rm(pkiDir, { recursive: true, force: true });
}
