/**
 * The `pg` pool as Kysely sees it, with what a frozen or unreachable server needs:
 *
 * - A connection whose query got no answer (`query_timeout`, a broken socket) is closed instead of going
 *   back to the pool: its query may still be running, or its packets lost, and every later query on it
 *   would queue behind that one and time out too.
 * - On such a connection, the ROLLBACK that Kysely sends after the failure is not sent (it would wait
 *   for another `query_timeout`, doubling the time a client waits for its answer): closing the connection
 *   rolls back whatever the server did not commit.
 * - A COMMIT that got no answer has an unknown outcome: the server may have committed it just before
 *   it froze. It fails with CommitOutcomeUnknownError, never as an ordinary "nothing was written".
 */
import pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';
import { CommitOutcomeUnknownError } from '../failures.js';

/** True when the server did not answer the query with an error of its own: whatever it did is unknown. */
function unanswered(err: unknown): boolean {
  if (!(err instanceof pg.DatabaseError)) return true;
  // FATAL/PANIC: the server ends the session (e.g. an administrator's shutdown) and says nothing of the commit.
  return err.severity === 'FATAL' || err.severity === 'PANIC';
}

const isCommand = (text: string, command: string) => text.trim().toLowerCase() === command;

export function discardingPool(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken = false;
      return {
        async query(text: string, values: ReadonlyArray<unknown>) {
          if (broken) {
            if (isCommand(text, 'rollback')) return { command: 'ROLLBACK', rowCount: 0, rows: [] };
            throw new Error('the database connection was abandoned after a query got no answer');
          }
          try {
            return await client.query(text, values as unknown[]);
          } catch (err) {
            if (!unanswered(err)) throw err;
            broken = true;
            if (isCommand(text, 'commit')) {
              throw new CommitOutcomeUnknownError(`no answer to COMMIT: ${(err as Error).message}`, err);
            }
            throw err;
          }
        },
        release(destroy?: boolean) {
          client.release(destroy || broken ? true : undefined);
        },
      } as unknown as PostgresPoolClient; // no cursor support: ddsrv does not stream
    },
    end: () => pool.end(),
  };
}
