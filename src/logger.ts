/** Structured JSON logs on stdout (pino): one line per event, for people and log pipelines alike. */
import { pino, type Level, type Logger } from 'pino';

export function createLogger(level: Level | 'silent'): Logger {
  return pino({
    level,
    base: { service: 'ddsrv' },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Credentials never reach the log.
    redact: ['req.headers.authorization', 'authToken'],
  });
}
