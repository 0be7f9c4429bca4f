import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generate } from 'selfsigned';

/** PEM material for a loopback TLS server whose certificate chains to a throwaway CA. */
export interface TestPki {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Where {@link writeTestPki} put the PEM files. */
export interface TestPkiFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

// EC P-256 keys are generated in milliseconds; RSA-2048 would cost ~100 ms per key on every test run.
// selfsigned imports the CA key with the leaf's key type, so CA and leaf must both be EC.
const keyOptions = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' } as const;
// A minute of slack so a client whose clock is a little behind does not see a not-yet-valid certificate.
const validity = () => ({
  notBeforeDate: new Date(Date.now() - 60_000),
  notAfterDate: new Date(Date.now() + 2 * 24 * 3600_000),
});

type CertificateExtensions = NonNullable<NonNullable<Parameters<typeof generate>[1]>['extensions']>;

// Every name a loopback client may use for the Gmail-like server: `localhost`, `127.0.0.1`, `::1`.
const serverExtensions = (): CertificateExtensions => [
  { name: 'basicConstraints', cA: false, critical: true },
  { name: 'keyUsage', digitalSignature: true, critical: true },
  { name: 'extKeyUsage', serverAuth: true },
  {
    name: 'subjectAltName',
    altNames: [
      { type: 2, value: 'localhost' },
      { type: 7, ip: '127.0.0.1' },
      { type: 7, ip: '::1' },
    ],
  },
];

/**
 * Creates a CA and a `localhost`/`127.0.0.1` server certificate signed by it, so tests can verify the
 * server the standard way (CA in `NODE_EXTRA_CA_CERTS`) instead of turning verification off.
 */
export async function createTestPki(): Promise<TestPki> {
  const ca = await generate([{ name: 'commonName', value: 'gmail-alerts test CA' }], {
    ...keyOptions,
    ...validity(),
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...keyOptions,
    ...validity(),
    extensions: serverExtensions(),
    ca: { key: ca.private, cert: ca.cert },
  });
  return { caPem: ca.cert, certPem: server.cert, keyPem: server.private };
}

/**
 * Creates a self-signed `localhost` certificate that no CA vouches for: a client that verifies
 * certificates must refuse it (the fault a man-in-the-middle or a misconfigured proxy produces).
 */
export async function createUntrustedCertificate(): Promise<{ certPem: string; keyPem: string }> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    ...keyOptions,
    ...validity(),
    extensions: serverExtensions(),
  });
  return { certPem: pems.cert, keyPem: pems.private };
}

/** Writes the PEM files into `dir` (which must exist) and returns their paths. */
export async function writeTestPki(dir: string, pki: TestPki): Promise<TestPkiFiles> {
  const files = {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'server.pem'),
    keyFile: join(dir, 'server.key'),
  };
  await writeFile(files.caFile, pki.caPem);
  await writeFile(files.certFile, pki.certPem);
  await writeFile(files.keyFile, pki.keyPem, { mode: 0o600 });
  return files;
}

/**
 * Reads the server certificate and key that the global setup published in `TEST_TLS_CERT` and
 * `TEST_TLS_KEY`, failing with the variable's name when it is missing.
 */
export function loadTestServerTls(): { cert: string; key: string } {
  const read = (variable: string) => {
    const path = process.env[variable];
    if (!path)
      throw new Error(
        `${variable} is not set: pass tls to the server, or run under vitest, whose global setup publishes the test PKI`,
      );
    return readFileSync(path, 'utf8');
  };
  return { cert: read('TEST_TLS_CERT'), key: read('TEST_TLS_KEY') };
}
