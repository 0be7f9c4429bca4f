// JSON.parse takes input nested 100,000 levels deep (V8's parser is iterative), but JSON.stringify,
// structuredClone and every recursive walk overflow the stack at about 10,000 levels with a bare
// RangeError. Depth is therefore checked once, without recursion, before anything walks a value.

/**
 * Deepest nesting accepted anywhere: an alert is 3 levels deep and an AWS event rarely more than 10,
 * so 32 refuses nothing real and keeps every later walk far from the stack's limit.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether a parsed JSON value nests objects and arrays more than `maxDepth` levels deep (the value
 * itself is level 1). When it does, names where: the top-level key under which it happens, or `''`
 * when the value is not an object with keys (an array, say). Iterative, so any depth is safe.
 */
export function findTooDeep(
  value: unknown,
  maxDepth: number = MAX_JSON_DEPTH,
): { member: string } | undefined {
  const pending: { value: unknown; depth: number; member: string }[] = [{ value, depth: 1, member: '' }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    if (next.depth > maxDepth) return { member: next.member };
    const root = next.depth === 1 && !Array.isArray(next.value);
    for (const [key, item] of Object.entries(next.value)) {
      pending.push({ value: item, depth: next.depth + 1, member: root ? key : next.member });
    }
  }
  return undefined;
}

/**
 * A copy of a JSON value in which every object or array that would sit deeper than `maxDepth` is
 * replaced by the string `marker`, so the copy can be serialised and parsed again.
 */
export function truncateDepth(value: unknown, marker: string, maxDepth: number = MAX_JSON_DEPTH): unknown {
  const copy = (item: unknown, depth: number): unknown => {
    if (typeof item !== 'object' || item === null) return item;
    if (depth > maxDepth) return marker;
    if (Array.isArray(item)) return item.map((element) => copy(element, depth + 1));
    const out: Record<string, unknown> = {};
    // defineProperty, not assignment: a `__proto__` key stays an own key instead of a prototype.
    for (const [key, element] of Object.entries(item)) {
      Object.defineProperty(out, key, {
        value: copy(element, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return copy(value, 1);
}
