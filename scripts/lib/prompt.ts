// Reading what a person types: visibly (an address) or hidden (a password), or lines from a pipe.
import { createInterface } from 'node:readline/promises';
import { text } from 'node:stream/consumers';
import { CommandFailedError } from './cli.ts';

/** Asks a question on the terminal and returns the answer, echoed as typed. */
export async function ask(question: string): Promise<string> {
  const reader = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await reader.question(question)).trim();
  } finally {
    reader.close();
  }
}

/**
 * Asks for a secret on the terminal without echoing it (not even as `*`), in raw mode so nothing typed
 * reaches the screen or the scroll-back. Ctrl-C cancels.
 */
export function askHidden(question: string): Promise<string> {
  const input = process.stdin;
  process.stderr.write(question);
  input.setRawMode(true);
  input.resume();
  input.setEncoding('utf8');
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (char === '\u0003') {
          finish();
          reject(new CommandFailedError('Cancelled; nothing was written.', 130));
          return;
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else if (char >= ' ') value += char;
      }
    };
    input.on('data', onData);
  });
}

/** All non-empty lines of stdin (a pipe or a file), trimmed at the end. */
export async function stdinLines(): Promise<string[]> {
  return (await text(process.stdin))
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0);
}
