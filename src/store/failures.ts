/**
 * What a failed write means, in words a client and an operator can act on, and the one case where the
 * honest answer is "not known": the database stopped answering after it was sent the COMMIT.
 */

/**
 * The commit was sent but its outcome was never confirmed (the connection broke or timed out during
 * COMMIT, or the commit could not be flushed to disk): the work may or may not have been recorded.
 */
export class CommitOutcomeUnknownError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** SQLite result codes (and file-system errors) that mean the disk, not the statement, failed. */
const DISK_FAILURES = /^(SQLITE_FULL|SQLITE_IOERR|SQLITE_READONLY|SQLITE_CANTOPEN|SQLITE_CORRUPT|SQLITE_NOTADB|ENOSPC|EDQUOT|EIO|EROFS)/;

/** True for an error that says the store cannot write at all (a full disk, an I/O error, a read-only file). */
export function isDiskFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && DISK_FAILURES.test(code);
}

/** A short reason for a failed write, safe to show a client (no SQL, no paths). */
export function storeFailureReason(err: unknown): string {
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  if (/^(SQLITE_FULL|ENOSPC|EDQUOT)/.test(code)) return `the database's disk is full (${code})`;
  if (/^(SQLITE_READONLY|EROFS)/.test(code)) return `the database file cannot be written (${code})`;
  if (isDiskFailure(err)) return `the database's disk failed (${code})`;
  const message = (err as Error | null)?.message ?? '';
  if (/timeout/i.test(message)) return 'the database did not answer in time';
  if (/ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|terminated|connect/i.test(`${code} ${message}`)) return 'the database is unreachable';
  return 'the database failed';
}

/** The database has migrations this release does not know: a newer release upgraded it. */
export class SchemaTooNewError extends Error {}
