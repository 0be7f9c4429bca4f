// Bundles every Lambda entry point into dist/functions/<name>/index.mjs: the exact files that the
// stack deploys, the integration tests import and the benchmark measures.
import { existsSync, readdirSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { type BuildOptions, build, type Plugin } from 'esbuild';

const root = join(import.meta.dirname, '..');
const functionsDir = join(root, 'functions');

const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));

/**
 * Loads Node built-ins with require() instead of an ESM import. An ESM import of a built-in builds its
 * namespace from every export, which runs the lazy getters: `node:http` then loads undici, http2 and
 * worker_threads, 20–50 ms of cold start here for modules nothing uses. require() does not.
 */
const builtinsThroughRequire: Plugin = {
  name: 'builtins-through-require',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) => {
      if (!builtins.has(args.path)) return undefined;
      // The proxy module's own require() stays a real require() of the built-in.
      if (args.namespace === 'builtin-require') return { path: args.path, external: true };
      return { path: args.path, namespace: 'builtin-require' };
    });
    pluginBuild.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

/** How every Lambda bundle is built (also used by the benchmark for its tutorial-style baseline). */
export function lambdaBundleOptions(entryPoint: string, outfile: string): BuildOptions {
  return {
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    // Prefer the ESM builds (AWS SDK v3 `dist-es`), which esbuild can tree-shake; `main` is CommonJS.
    mainFields: ['module', 'main'],
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    legalComments: 'none',
    logLevel: 'warning',
    plugins: [builtinsThroughRequire],
    // Some CommonJS dependencies call require() for Node built-ins; an ESM bundle needs a real one.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  };
}

/** Builds every folder under functions/ with a handler.ts (a deployable function); returns the names. */
export async function buildFunctions(): Promise<string[]> {
  const functionNames = readdirSync(functionsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(functionsDir, entry.name, 'handler.ts')))
    .map((entry) => entry.name)
    .sort();
  await Promise.all(
    functionNames.map((name) =>
      build(
        lambdaBundleOptions(
          join(functionsDir, name, 'handler.ts'),
          join(root, 'dist', 'functions', name, 'index.mjs'),
        ),
      ),
    ),
  );
  return functionNames;
}

if (import.meta.main) {
  const functionNames = await buildFunctions();
  // Progress goes to stderr: `cdk synth > template.yaml` runs this build and keeps only stdout.
  console.error(`built ${functionNames.map((n) => `dist/functions/${n}/index.mjs`).join(', ')}`);
}
