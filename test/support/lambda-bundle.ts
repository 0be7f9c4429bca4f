import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';

const distDir = join(import.meta.dirname, '../../dist/functions');

let coldStarts = 0;

export type LambdaHandler<E = unknown, R = unknown> = (event: E, context: Context) => Promise<R>;

/**
 * Imports a built bundle (`dist/functions/<name>/index.mjs`) as a fresh module instance: a cold start
 * with its own module scope (config read from `process.env` now, its own warm transport and caches).
 * `npm test` builds the bundles first.
 */
export async function coldStart<E = unknown, R = unknown>(name: string): Promise<LambdaHandler<E, R>> {
  const file = join(distDir, name, 'index.mjs');
  if (!existsSync(file)) throw new Error(`${file} is missing: run npm run build (npm test does it first)`);
  coldStarts += 1;
  // vitest.config.ts externalises dist/, so this is Node's own import(), exactly as Lambda loads the bundle.
  const module = (await import(/* @vite-ignore */ `${pathToFileURL(file).href}?cold=${coldStarts}`)) as {
    handler: LambdaHandler<E, R>;
  };
  return module.handler;
}
