/**
 * The Node.js releases the SQLite store refuses: on them better-sqlite3 12 can abort the process when a
 * prepared statement is garbage-collected, depending on headers it was compiled with, which are not known
 * here; so every release of those lines before the fix is refused. Measured: docs/runtimes.md.
 */

/** A release line whose runtime lacks the fix, and the first release that has it. */
interface AffectedLine {
  major: number;
  fixedIn: [minor: number, patch: number];
}

const AFFECTED_LINES: readonly AffectedLine[] = [
  { major: 24, fixedIn: [22, 0] },
  { major: 26, fixedIn: [4, 0] },
];

export class UnsupportedRuntimeError extends Error {}

/** Why this Node.js version cannot run the SQLite store, or null when it can. */
export function sqliteRuntimeProblem(nodeVersion: string = process.versions.node): string | null {
  const [major = NaN, minor = 0, patch = 0] = nodeVersion.split('.').map((part) => Number.parseInt(part, 10));
  const line = AFFECTED_LINES.find((l) => l.major === major);
  if (!line) return null;
  const [fixedMinor, fixedPatch] = line.fixedIn;
  if (minor > fixedMinor || (minor === fixedMinor && patch >= fixedPatch)) return null;
  const fixed = `${major}.${fixedMinor}.${fixedPatch}`;
  return (
    `Node.js ${nodeVersion} cannot run the SQLite store: better-sqlite3 12 can abort the process on it when a ` +
    `prepared statement is garbage-collected (a Node.js bug fixed in ${fixed}). ` +
    `Move to Node.js ${fixed} or later, or use PostgreSQL (--database postgres://...).`
  );
}
