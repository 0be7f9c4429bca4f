import { readFileSync } from 'node:fs';

const eventsDir = new URL('../events/', import.meta.url);

/**
 * Reads the sample event `events/<name>.json`, the same files the local invoke command uses, so tests
 * and manual runs exercise identical input. The caller states the event type it expects.
 */
export function loadEvent<T = unknown>(name: string): T {
  if (!/^[\w.-]+$/.test(name))
    throw new Error(`event name must be a plain file name, got ${JSON.stringify(name)}`);
  return JSON.parse(readFileSync(new URL(`${name}.json`, eventsDir), 'utf8')) as T;
}
