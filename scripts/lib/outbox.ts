// `.outbox/`: every message the local Gmail-like server accepted, one .eml file each, newest first.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import { simpleParser } from 'mailparser';

/** A saved message, summarised for lists and log lines. */
export interface OutboxEntry {
  /** The file name without `.eml`: a sortable timestamp and a random suffix. */
  id: string;
  file: string;
  receivedAt: Date;
  subject: string;
  from: string;
  to: string[];
  severity: string | undefined;
  /** `firing` or `resolved`, from X-Alert-Status. */
  status: string | undefined;
  /** The conversation: the hex part of the References id every mail of one alert key shares. */
  thread: string | undefined;
  /** The text part's first line: the state and the subject, as Gmail's snippet shows them. */
  headline: string;
}

/** A saved message with both parts, for the message view. */
export interface OutboxMessage extends OutboxEntry {
  text: string;
  html: string | undefined;
  raw: Buffer;
}

export interface Outbox {
  readonly dir: string;
  /** The folder as printed: relative to the working directory when inside it. */
  readonly shownDir: string;
  save(raw: Buffer): Promise<OutboxEntry>;
  /** Newest first, at most `limit`. */
  list(limit?: number): Promise<OutboxEntry[]>;
  read(id: string): Promise<OutboxMessage | undefined>;
  /** The entries of one conversation, oldest first. */
  thread(thread: string): Promise<OutboxEntry[]>;
  /** The entry's file as printed. */
  display(entry: OutboxEntry): string;
}

const shown = (path: string) => {
  const inside = relative(process.cwd(), path);
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? inside : path;
};

const ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;

/** Whether `id` can name an outbox file (and nothing outside the folder). */
export const isOutboxId = (id: string) => ID.test(id);

const addresses = (value: unknown): string[] => {
  const list = Array.isArray(value) ? value : value ? [value] : [];
  return list.flatMap((item: { value?: { address?: string }[] }) =>
    (item.value ?? []).map((entry) => entry.address ?? ''),
  );
};

async function parse(id: string, file: string, raw: Buffer, receivedAt: Date): Promise<OutboxMessage> {
  const parsed = await simpleParser(raw);
  const severity = parsed.headers.get('x-alert-severity');
  const status = parsed.headers.get('x-alert-status');
  const references = parsed.headers.get('references');
  const thread = /<alert\.([0-9a-f]{32})@/.exec(
    String(Array.isArray(references) ? references[0] : (references ?? '')),
  );
  return {
    id,
    file,
    receivedAt,
    subject: parsed.subject ?? '(no subject)',
    from: parsed.from?.value[0]?.address ?? '',
    to: addresses(parsed.to),
    severity: typeof severity === 'string' ? severity : undefined,
    status: typeof status === 'string' ? status : undefined,
    thread: thread?.[1],
    headline: (parsed.text ?? '').split('\n', 1)[0] ?? '',
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : undefined,
    raw,
  };
}

/** Opens (and creates) an outbox folder. Files written by other processes (npm run invoke) show up too. */
export async function openOutbox(dir: string): Promise<Outbox> {
  await mkdir(dir, { recursive: true });
  const summaries = new Map<string, OutboxEntry>();

  const load = async (id: string): Promise<OutboxMessage | undefined> => {
    if (!isOutboxId(id)) return undefined;
    const file = join(dir, `${id}.eml`);
    try {
      const [raw, info] = await Promise.all([readFile(file), stat(file)]);
      return await parse(id, file, raw, info.mtime);
    } catch {
      return undefined;
    }
  };

  const summary = (message: OutboxMessage): OutboxEntry => {
    const { text: _text, html: _html, raw: _raw, ...entry } = message;
    return entry;
  };

  const outbox: Outbox = {
    dir,
    shownDir: shown(dir),
    async save(raw) {
      const receivedAt = new Date();
      // 20261125T164501123Z: sorts by time, and is a valid file name everywhere.
      const stamp = receivedAt.toISOString().replace(/[-:.]/g, '');
      const id = `${stamp}-${randomBytes(4).toString('hex')}`;
      const file = join(dir, `${id}.eml`);
      await writeFile(file, raw);
      const entry = summary(await parse(id, file, raw, receivedAt));
      summaries.set(id, entry);
      return entry;
    },
    async list(limit = 200) {
      const ids = (await readdir(dir))
        .filter((name) => name.endsWith('.eml'))
        .map((name) => name.slice(0, -4))
        .filter(isOutboxId)
        .sort()
        .reverse()
        .slice(0, limit);
      const entries = await Promise.all(
        ids.map(async (id) => {
          const known = summaries.get(id);
          if (known) return known;
          const message = await load(id);
          if (!message) return undefined;
          const entry = summary(message);
          summaries.set(id, entry);
          return entry;
        }),
      );
      return entries.filter((entry): entry is OutboxEntry => entry !== undefined);
    },
    read: load,
    async thread(thread) {
      return (await outbox.list()).filter((entry) => entry.thread === thread).reverse();
    },
    display: (entry) => shown(entry.file),
  };
  return outbox;
}
