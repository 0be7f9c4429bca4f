// The real CDK CLI, offline and without AWS credentials: the default mode, -c vpc=new, and the
// context it must refuse before anything is created.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ALERT_TO, CDK_JSON, FIXTURE_FUNCTIONS_DIR, FUNCTION_NAMES, PROJECT_ROOT } from './stack-template.ts';

// Four CLI runs at once on a shared two-core machine: generous, since only a hung CLI should hit it.
const SYNTH_TIMEOUT_MS = 240_000;
// cdk.json runs `npm run build` before the app. `npm test` has built dist/ already, and rebuilding it
// here would rewrite the bundles while other test files import them, so the CLI gets the app
// command without the build step; the first test pins that this is the only difference.
const APP_WITHOUT_BUILD = 'npx --no node infra/app.ts';
const DIST_FUNCTIONS = join(PROJECT_ROOT, 'dist', 'functions');
const functionsDir = FUNCTION_NAMES.every((name) => existsSync(join(DIST_FUNCTIONS, name, 'index.mjs')))
  ? DIST_FUNCTIONS
  : FIXTURE_FUNCTIONS_DIR;

/** The environment of a machine with no AWS account configured and no network. */
function offlineEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (/^AWS_/.test(name) || name === 'NODE_ENV' || name.startsWith('VITEST')) delete env[name];
  }
  return {
    ...env,
    AWS_CONFIG_FILE: join(tmpdir(), 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), 'no-aws-credentials'),
    // No probe of the EC2 instance metadata service for credentials, no version check, no telemetry.
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs `cdk synth` offline. `printTemplate` leaves out `--quiet` and asks for JSON, so the template
 * goes to stdout as it does for `cdk synth > template.json`; `stdout` is then kept apart.
 */
function cdkSynth(
  context: string[],
  options: { printTemplate?: boolean } = {},
): Promise<{ code: number | null; output: string; stdout: string; outdir: string }> {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-synth-'));
  outdirs.push(outdir);
  const args = [
    '--no',
    'cdk',
    'synth',
    '--app',
    APP_WITHOUT_BUILD,
    '--output',
    outdir,
    ...(options.printTemplate ? ['--json'] : ['--quiet']),
    '--no-notices',
  ];
  for (const entry of [`functionsDir=${functionsDir}`, ...context]) args.push('--context', entry);
  return new Promise((resolve, reject) => {
    const child = spawn('npx', args, { cwd: PROJECT_ROOT, env: offlineEnvironment() });
    let output = '';
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), SYNTH_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, stdout, outdir });
    });
  });
}

interface TemplateResource {
  Type: string;
  Properties: Record<string, unknown> & { Handler?: string; VpcConfig?: unknown; EventPattern?: unknown };
  Metadata?: Record<string, string>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

const TEMPLATE_FILE = 'GmailAlerts.template.json';

function resources(outdir: string): TemplateResource[] {
  const template = JSON.parse(readFileSync(join(outdir, TEMPLATE_FILE), 'utf8'));
  return Object.values(template.Resources) as TemplateResource[];
}

function alertFunctions(outdir: string): TemplateResource[] {
  return resources(outdir).filter(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' && resource.Properties.Handler === 'index.handler',
  );
}

describe('npx cdk synth', { timeout: 2 * SYNTH_TIMEOUT_MS }, () => {
  const recipients = `alertTo=${ALERT_TO}`;
  const runs = {
    none: cdkSynth([recipients]),
    vpc: cdkSynth([recipients, 'vpc=new']),
    noRecipients: cdkSynth([]),
    nonAsciiRecipient: cdkSynth(['alertTo=jörg@example.com']),
    printed: cdkSynth([recipients], { printTemplate: true }),
  };

  it('prints the template alone on stdout, so `cdk synth > template.json` writes a template', async () => {
    const { code, stdout } = await runs.printed;
    expect(code).toBe(0);
    const template = JSON.parse(stdout) as { Resources?: Record<string, { Type: string }> };
    expect(Object.values(template.Resources ?? {}).map((resource) => resource.Type)).toContain(
      'AWS::Lambda::Function',
    );
  });

  it('runs cdk.json’s app after the one build', () => {
    expect(CDK_JSON.app).toBe(`npm run --silent build && ${APP_WITHOUT_BUILD}`);
  });

  it('exits 0 in the default mode, cdk-nag clean, and deploys the built bundles byte for byte', async () => {
    const { code, output, outdir } = await runs.none;
    expect(code, output).toBe(0);
    const functions = alertFunctions(outdir);
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    const deployed = new Map<string, string>();
    for (const fn of functions) {
      const assetDir = join(outdir, fn.Metadata?.['aws:asset:path'] ?? '');
      deployed.set(readFileSync(join(assetDir, 'index.mjs'), 'utf8'), readdirSync(assetDir).sort().join(','));
    }
    for (const name of FUNCTION_NAMES) {
      const built = join(functionsDir, name);
      const files = deployed.get(readFileSync(join(built, 'index.mjs'), 'utf8'));
      expect(files, `${name}/index.mjs is deployed unchanged`).toBe(readdirSync(built).sort().join(','));
    }
  });

  it('synthesizes a stack that keeps its own alarms out of the alarm rule, retains the secret and leaves API Gateway’s account settings alone', async () => {
    const { code, output, outdir } = await runs.none;
    expect(code, output).toBe(0);
    const all = resources(outdir);
    expect(all.filter((resource) => resource.Type === 'AWS::ApiGateway::Account')).toEqual([]);
    // The Gmail secret has no generated value; the other secret is the generated signing key.
    const secrets = all.filter((resource) => resource.Type === 'AWS::SecretsManager::Secret');
    const [secret, ...others] = secrets.filter((resource) => !resource.Properties.GenerateSecretString);
    expect(others).toEqual([]);
    expect(secrets).toHaveLength(2);
    expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(secret?.Properties.SecretString).toBeUndefined();
    const alarmRule = all.find(
      (resource) =>
        resource.Type === 'AWS::Events::Rule' &&
        JSON.stringify(resource.Properties.EventPattern).includes('aws.cloudwatch'),
    );
    expect(alarmRule?.Properties.EventPattern).toMatchObject({
      detail: { alarmName: [{ 'anything-but': { prefix: 'GmailAlerts/' } }] },
    });
  });

  it('synthesizes the generated signing secret, the silence routes without an API key and their environment', async () => {
    const { code, output, outdir } = await runs.none;
    expect(code, output).toBe(0);
    const all = resources(outdir);
    const signing = all.find(
      (resource) =>
        resource.Type === 'AWS::SecretsManager::Secret' && resource.Properties.GenerateSecretString,
    );
    expect(signing?.Properties.GenerateSecretString).toMatchObject({
      GenerateStringKey: 'key',
      PasswordLength: 64,
    });
    const methods = all.filter((resource) => resource.Type === 'AWS::ApiGateway::Method');
    expect(
      methods.map((method) => [method.Properties.HttpMethod, method.Properties.ApiKeyRequired]).sort(),
    ).toEqual([
      ['GET', false],
      ['POST', false],
      ['POST', true],
    ]);
    const variablesOf = (resource: TemplateResource) =>
      (resource.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {};
    const linking = alertFunctions(outdir)
      .map(variablesOf)
      .filter((variables) => variables.ALERT_SILENCE_BASE_URL !== undefined);
    expect(linking).toHaveLength(3);
    for (const variables of linking) {
      expect(variables.ALERT_SIGNING_SECRET_ID).toMatchObject({ Ref: expect.any(String) });
      expect(JSON.stringify(variables.ALERT_SILENCE_BASE_URL)).toContain('.execute-api.');
    }
  });

  it('refuses to synthesize without -c alertTo, saying what it is, and writes no template', async () => {
    const { code, output, outdir } = await runs.noRecipients;
    expect(code).not.toBe(0);
    expect(output).toContain('CDK context "alertTo" is not set: pass -c alertTo=');
    expect(output).toContain('the addresses every alert is mailed to');
    expect(existsSync(join(outdir, TEMPLATE_FILE))).toBe(false);
  });

  it('refuses a non-ASCII alertTo with the rule the functions apply to ALERT_TO', async () => {
    const { code, output, outdir } = await runs.nonAsciiRecipient;
    expect(code).not.toBe(0);
    expect(output).toContain(
      'CDK context "alertTo" is not valid for ALERT_TO: "jörg@example.com" must be a bare ASCII address',
    );
    expect(existsSync(join(outdir, TEMPLATE_FILE))).toBe(false);
  });

  it('exits 0 with -c vpc=new, the functions in the VPC', async () => {
    const { code, output, outdir } = await runs.vpc;
    expect(code, output).toBe(0);
    const functions = alertFunctions(outdir);
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    for (const fn of functions) expect(fn.Properties.VpcConfig).toBeDefined();
  });
});
