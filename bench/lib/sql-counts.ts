// Reads what the count-sql preload (count-sql.mjs) counted inside the service: it writes one JSON line
// each time it receives SIGUSR2, and starts counting afresh.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { waitFor } from './processes.js';

export interface SqlCounts {
  /** Executions by SQL text; a better-sqlite3 transaction function's own BEGIN and COMMIT are among them. */
  statements: Record<string, number>;
  /** Calls of better-sqlite3 transaction functions (the hand-off group commits). */
  transactionFunctions: number;
  /** fdatasync/fsync calls through a FileHandle (the WAL sync). */
  fileSyncs: number;
}

/** The preload, for `node --import`. */
export const COUNT_SQL = fileURLToPath(new URL('./count-sql.mjs', import.meta.url));

/** Asks the preload for its counts (SIGUSR2) and waits for the `nth` line of its output file. */
export async function sqlCounts(pid: number, out: string, nth: number): Promise<SqlCounts> {
  process.kill(pid, 'SIGUSR2');
  return waitFor('SQL counts from the service', 5000, () => {
    const lines = existsSync(out) ? readFileSync(out, 'utf8').trim().split('\n') : [];
    return lines.length >= nth ? (JSON.parse(lines[nth - 1]!) as SqlCounts) : undefined;
  });
}
