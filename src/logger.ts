/** Structured JSON logs on stdout (pino): one line per event, for people and log pipelines alike. */
import { pino, type Level, type Logger } from 'pino';
import { IsoClock } from './lib/iso-time.js';

/** Bytes sonic-boom gathers into one write (docs/performance.md, "Logs"). */
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
    // Asynchronous, in 4 KiB chunks, at most 16 MiB waiting: a log line must not cost a hand-off a write,
    // nor a stuck log reader stall the service. The last lines may be lost on SIGKILL; the database's
    // history is the audit record. Why these sizes: docs/performance.md, "Logs".
    pino.destination({ dest: 1, sync: false, maxLength: 16 * 1024 * 1024, maxWrite: LOG_CHUNK_BYTES }),
  );
}
