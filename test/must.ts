/**
 * The value, or a test failure that names what was missing. Tests use it instead of a non-null
 * assertion (`x!`), which turns a missing value into a TypeError far from its cause.
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === null || value === undefined) throw new Error(`expected ${what}, got ${value}`);
  return value;
}
