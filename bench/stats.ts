/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of an empty list');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Rounds for display and JSON: one decimal below 100, none above. */
export function round(value: number, decimals = value < 100 ? 1 : 0): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}
