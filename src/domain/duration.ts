/**
 * Durations as operators write them: `90` (seconds, as the original's plain number), `90s`, `500ms`,
 * `5m`, `2h`, `1d`, and sums such as `1h30m`. Parsed to whole milliseconds.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export class DurationError extends Error {}

/** Nothing here waits longer; a larger figure is a typo or an attack (and breaks dates past year 275760). */
export const MAX_DURATION_MS = 10 * 365 * 86_400_000;

export function parseDuration(text: string): number {
  const ms = parseUnbounded(text);
  if (!Number.isFinite(ms) || ms > MAX_DURATION_MS) {
    throw new DurationError(`'${text}' is longer than the longest duration allowed (10 years)`);
  }
  return ms;
}

function parseUnbounded(text: string): number {
  const input = text.trim();
  if (/^\d+(\.\d+)?$/.test(input)) return Math.round(Number(input) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < input.length) {
    const start = PART.lastIndex;
    const m = PART.exec(input);
    if (!m || m.index !== start) break;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched = PART.lastIndex;
  }
  if (input.length === 0 || matched !== input.length) {
    throw new DurationError(
      `'${text}' is not a duration: use a number of seconds or units ms, s, m, h, d (e.g. 90, 90s, 5m, 2h, 1d, 1h30m)`,
    );
  }
  return Math.round(total);
}

/** The shortest readable form, for logs and messages: 90000 -> "1m30s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
