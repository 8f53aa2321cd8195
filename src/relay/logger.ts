import pino from 'pino';
import { createRequire } from 'node:module';
import type PinoPretty from 'pino-pretty';

const require = createRequire(import.meta.url);

/** The slice of pino the relay uses; tests may pass any object with these methods. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level: string;
  /** Human-readable lines instead of JSON. */
  pretty: boolean;
  destination: NodeJS.WritableStream;
}

/**
 * Structured JSON logs (one object per line) for machines; pino-pretty on a
 * TTY for people. Lifecycle at info, batches at debug. Row data and secrets
 * are never logged: callers pass ids, counts and error codes only.
 */
export function createLogger(options: LoggerOptions): Logger {
  // pino-pretty is loaded only for a TTY: a daemon writing JSON lines never pays for it.
  const stream = options.pretty
    ? (require('pino-pretty') as typeof PinoPretty)({ destination: options.destination, colorize: true, sync: true, ignore: 'pid,hostname' })
    : options.destination;
  return pino({ level: options.level, base: { app: 'audite' }, serializers: { err: pino.stdSerializers.err } }, stream) as unknown as Logger;
}

/** A logger that drops everything (library use without logging). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
