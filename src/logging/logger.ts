import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino removes from every log line. Secrets should never reach a
 * logger at all; this is the second lock on that door.
 */
export const REDACTED_PATHS = [
  'secret',
  'apiKey',
  'password',
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.secret',
  '*.apiKey',
  '*.password',
  '*.authorization',
  '*.secretEnvelope',
  'secretEnvelope',
];

/** Structured JSON logs: a dotted `event` field and the ids on each line. */
export function createLogger(
  level: string = 'info',
  destination?: NodeJS.WritableStream,
): Logger {
  const options = {
    level,
    base: { service: 'tenantgate' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (destination) return pino(options, destination);
  return pino(options, pino.destination({ dest: 2, sync: true }));
}
