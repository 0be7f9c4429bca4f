// The real CDK CLI, offline and without AWS credentials, in the default mode and with -c vpc=new.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CDK_JSON, FIXTURE_FUNCTIONS_DIR, FUNCTION_NAMES, PROJECT_ROOT } from './stack-template.ts';

const SYNTH_TIMEOUT_MS = 110_000;
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

function cdkSynth(context: string[]): Promise<{ code: number | null; output: string; outdir: string }> {
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
    '--quiet',
    '--no-notices',
  ];
  for (const entry of [`functionsDir=${functionsDir}`, ...context]) args.push('--context', entry);
  return new Promise((resolve, reject) => {
    const child = spawn('npx', args, { cwd: PROJECT_ROOT, env: offlineEnvironment() });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), SYNTH_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, outdir });
    });
  });
}

interface TemplateResource {
  Type: string;
  Properties: Record<string, unknown> & { Handler?: string; VpcConfig?: unknown };
  Metadata?: Record<string, string>;
}

function alertFunctions(outdir: string): TemplateResource[] {
  const template = JSON.parse(readFileSync(join(outdir, 'GmailAlerts.template.json'), 'utf8'));
  return (Object.values(template.Resources) as TemplateResource[]).filter(
    (resource) =>
      resource.Type === 'AWS::Lambda::Function' && resource.Properties.Handler === 'index.handler',
  );
}

describe('npx cdk synth', { timeout: 2 * SYNTH_TIMEOUT_MS }, () => {
  const runs = { none: cdkSynth([]), vpc: cdkSynth(['vpc=new']) };

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

  it('exits 0 with -c vpc=new, the functions in the VPC', async () => {
    const { code, output, outdir } = await runs.vpc;
    expect(code, output).toBe(0);
    const functions = alertFunctions(outdir);
    expect(functions).toHaveLength(FUNCTION_NAMES.length);
    for (const fn of functions) expect(fn.Properties.VpcConfig).toBeDefined();
  });
});
