/** The pino logger: JSON lines, every header or field that can carry a secret redacted. */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["x-goog-api-key"]',
  'req.headers["x-heimdall-key"]',
  'req.headers["api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-goog-api-key"]',
  'headers["api-key"]',
  '*.api_key',
  '*.apiKey',
  '*.secret',
  '*.password',
  '*.token',
];

export interface LoggerOptions {
  level: string;
  /** Where lines go (tests capture them). Defaults to stdout. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'heimdall' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * Masks anything that looks like a credential inside free text (an upstream
 * error message may echo the key it was sent).
 */
const SECRET_PATTERN = /\b(sk|hk|pk|rk|sess|key|AIza)[-_A-Za-z0-9]{12,}|\bBearer\s+[-._~+/A-Za-z0-9]{8,}=*/g;

export function redactText(text: string): string {
  return text.replace(SECRET_PATTERN, (match) => {
    if (match.startsWith('Bearer')) return 'Bearer [redacted]';
    return `${match.slice(0, 3)}...[redacted]`;
  });
}
