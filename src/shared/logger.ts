import { type Logger, pino } from 'pino';

export type { Logger };

/**
 * Paths whose values never reach a log line. Secrets should not be logged in the first place;
 * this is the second line of defence for objects that carry them by accident.
 */
export const REDACT_PATHS = [
  'secret',
  '*.secret',
  '*.*.secret',
  'password',
  '*.password',
  'token',
  '*.token',
  'apiKey',
  '*.apiKey',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'req.headers["x-tollgate-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-tollgate-key"]',
  'connectionParams',
  '*.connectionParams',
  'config.auth.secret',
  'auth.secret',
  'databaseUrl',
  '*.databaseUrl',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tollgate' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** Strips the password from a connection URL so it can be shown or logged. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
