// One pino logger for the whole process. Redaction is the last line of defence:
// code must never pass a secret or a token to a log call in the first place.
import pino, { type Logger } from 'pino';

export const REDACTED_PATHS = [
  'secret',
  'credentials_secret',
  'credentialsSecret',
  'token',
  'authorization',
  'password',
  'pin',
  '*.secret',
  '*.credentials_secret',
  '*.credentialsSecret',
  '*.token',
  '*.authorization',
  '*.password',
  'req.headers.authorization',
  'headers.authorization',
];

export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  const level = opts.level ?? process.env.IMPRINT_LOG_LEVEL ?? 'info';
  return pino(
    { name: opts.name ?? 'imprint', level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    opts.destination ?? pino.destination(2),
  );
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
