import { pino, type Logger } from 'pino';
import { currentLogTap } from './log-tap.js';

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

/**
 * Structured JSON logs: a dotted `event` field and the ids on each line.
 * With a log tap installed (tests only, see `installLogTap`), every
 * line at every level also goes to the tap, after redaction.
 */
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
  const out = destination ?? pino.destination({ dest: 2, sync: true });
  const tap = currentLogTap();
  if (!tap) return pino(options, out);

  const streams: pino.StreamEntry[] = [
    { level: 'trace', stream: { write: (line: string) => tap(line) } },
  ];
  if (level !== 'silent') {
    streams.push({ level: level as pino.Level, stream: out });
  }
  return pino({ ...options, level: 'trace' }, pino.multistream(streams));
}
