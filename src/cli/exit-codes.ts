import type { ErrorCode } from '../errors.ts';

/** sysexits(3)-style codes, so scripts and supervisors can tell failures apart. */
export const EXIT = {
  OK: 0,
  FATAL: 1,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  TEMPFAIL: 75,
  NOPERM: 77,
  CONFIG: 78,
} as const;

const byCode: Record<ErrorCode, number> = {
  DB_NOT_FOUND: EXIT.NOINPUT,
  DB_NOT_SQLITE: EXIT.DATAERR,
  DB_READONLY: EXIT.NOPERM,
  DB_LOCKED: EXIT.TEMPFAIL,
  DB_IN_TRANSACTION: EXIT.USAGE,
  NOT_ENABLED: EXIT.UNAVAILABLE,
  UNKNOWN_TABLE: EXIT.USAGE,
  UNKNOWN_COLUMN: EXIT.USAGE,
  UNSUPPORTED_TABLE: EXIT.USAGE,
  INVALID_ARGUMENT: EXIT.USAGE,
  CONFIG_INVALID: EXIT.CONFIG,
  SINK_PERMANENT: EXIT.UNAVAILABLE,
  SINK_UNAVAILABLE: EXIT.UNAVAILABLE,
  NOT_FOUND: EXIT.DATAERR,
  RESTORE_CONFLICT: EXIT.DATAERR,
  INTERNAL: EXIT.SOFTWARE,
};

export function exitCodeFor(code: ErrorCode): number {
  return byCode[code];
}
