/** Structured JSON logs on stdout (pino): one line per event, for people and log pipelines alike. */
import { pino, type Level, type Logger } from 'pino';
import { IsoClock } from './lib/iso-time.js';

/** Bytes sonic-boom gathers into one write; see createLogger. */
const LOG_CHUNK_BYTES = 4096;

export function createLogger(level: Level | 'silent'): Logger {
  const clock = new IsoClock();
  return pino(
    {
      level,
      base: { service: 'ddsrv' },
      // pino's isoTime, with the text of the current millisecond formatted once, not once per line.
      timestamp: () => `,"time":"${clock.iso(Date.now())}"`,
      // Credentials never reach the log.
      redact: ['req.headers.authorization', 'authToken'],
    },
    // Asynchronous: lines logged while a write is under way go out together in the next one, on libuv's
    // thread pool. A synchronous write per line cost ~10% of a hand-off's time under load. pino writes out
    // what is buffered when the process exits (also on process.exit), except a chunk whose write was still
    // in flight at that instant; after a SIGKILL or a power loss the last lines may be missing from the log,
    // never from the database, whose history is the audit record.
    // A log reader that stops reading (a stuck pipe) must not grow the buffer without bound or stall the
    // service: beyond 16 MiB waiting, lines are dropped.
    //
    // Chunks of 4 KiB, not sonic-boom's default 16 KiB: on every line it measures the byte length of the
    // chunk being gathered, which flattens the string built so far, so a line costs more the larger the
    // chunk grows (that measuring was 3% of the main thread's CPU under the acceptance load with 16 KiB chunks,
    // docs/performance.md). Smaller chunks mean more write calls, but those run on the thread pool.
    pino.destination({ dest: 1, sync: false, maxLength: 16 * 1024 * 1024, maxWrite: LOG_CHUNK_BYTES }),
  );
}
