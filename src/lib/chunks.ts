/** Splits `items` into arrays of at most `size`: one SQL statement or one AWS call stays within its limit. */
export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
