// Bundles every Lambda entry point into dist/functions/<name>/index.mjs: the exact files that the
// stack deploys, the integration tests import and the benchmark measures.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = join(import.meta.dirname, '..');
const functionsDir = join(root, 'functions');

// Every folder under functions/ with a handler.ts is a deployable function.
const functionNames = readdirSync(functionsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && existsSync(join(functionsDir, entry.name, 'handler.ts')))
  .map((entry) => entry.name)
  .sort();

await Promise.all(
  functionNames.map((name) =>
    build({
      entryPoints: [join(functionsDir, name, 'handler.ts')],
      outfile: join(root, 'dist', 'functions', name, 'index.mjs'),
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'esm',
      minify: true,
      sourcemap: true,
      sourcesContent: false,
      legalComments: 'none',
      logLevel: 'warning',
      // Some CommonJS dependencies call require() for Node built-ins; an ESM bundle needs a real one.
      banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    }),
  ),
);
console.log(`built ${functionNames.map((n) => `dist/functions/${n}/index.mjs`).join(', ')}`);
