/**
 * `JSON.stringify` for values of any depth. V8's stringify recurses and throws a RangeError a few
 * thousand levels down, while `JSON.parse` does not: an event that parsed (e.g. `{"detail":[[[…]]]}`
 * 10,000 deep) must be serialisable again to reach a Lambda sandbox, as Lambda itself would pass it.
 * Shallow values take the native path; deep ones an explicit stack with the same output.
 */
export function jsonText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return deepJsonText(value);
  }
}

/** An open array or object: its items still to write, and for an object the key of each. */
interface Frame {
  source: object;
  keys: string[] | undefined;
  items: unknown[];
  index: number;
  close: ']' | '}';
}

const isOmitted = (value: unknown) =>
  value === undefined || typeof value === 'function' || typeof value === 'symbol';

function toJsonValue(value: unknown, key: string): unknown {
  const withToJson = value as { toJSON?: (key: string) => unknown } | null;
  return typeof withToJson?.toJSON === 'function' ? withToJson.toJSON(key) : value;
}

function deepJsonText(root: unknown): string {
  const out: string[] = [];
  const stack: Frame[] = [];
  const seen = new Set<object>();

  // Writes a scalar, or opens a container by pushing its frame.
  const open = (raw: unknown, key: string, inArray: boolean) => {
    const value = toJsonValue(raw, key);
    if (isOmitted(value)) {
      out.push(inArray ? 'null' : '');
      return;
    }
    if (value === null || typeof value !== 'object') {
      if (typeof value === 'bigint') throw new TypeError('Do not know how to serialize a BigInt');
      out.push(JSON.stringify(value));
      return;
    }
    if (seen.has(value)) throw new TypeError('Converting circular structure to JSON');
    seen.add(value);
    if (Array.isArray(value)) {
      out.push('[');
      stack.push({ source: value, keys: undefined, items: value, index: 0, close: ']' });
    } else {
      out.push('{');
      const entries = Object.entries(value).filter(([name, item]) => !isOmitted(toJsonValue(item, name)));
      const keys = entries.map(([name]) => name);
      const items = entries.map(([, item]) => item);
      stack.push({ source: value, keys, items, index: 0, close: '}' });
    }
  };

  open(root, '', false);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    if (frame.index >= frame.items.length) {
      out.push(frame.close);
      seen.delete(frame.source);
      stack.pop();
      continue;
    }
    if (frame.index > 0) out.push(',');
    const index = frame.index;
    frame.index += 1;
    const { keys } = frame;
    const key = keys ? (keys[index] as string) : String(index);
    if (keys) out.push(`${JSON.stringify(key)}:`);
    open(frame.items[index], key, !keys);
  }
  return out.join('');
}
