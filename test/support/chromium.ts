import { existsSync } from 'node:fs';

/** Debian's Chromium: the browser tests use it (no browser download on this network). */
export const CHROMIUM = '/usr/bin/chromium';

// Flags that keep Chromium quiet and offline: no sandbox (containers), no GPU, no QUIC, no
// first-run, no background updates or sync.
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Whether Chromium is installed; says which test is skipped, and how to install it, when it is not. */
export function hasChromium(test: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.warn(`SKIPPED ${test}: ${CHROMIUM} is absent (install it with: apt-get install -y chromium)`);
  return false;
}
