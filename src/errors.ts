/**
 * Every failure an operator can act on is an AuditeError with a stable code.
 * Callers branch on `code`, never on message text; the CLI maps codes to exit codes.
 */
export type ErrorCode =
  | 'DB_NOT_FOUND'
  | 'DB_NOT_SQLITE'
  | 'DB_READONLY'
  | 'DB_LOCKED'
  | 'DB_IN_TRANSACTION'
  | 'DB_UNAVAILABLE'
  | 'DB_PERMISSION'
  | 'NOT_ENABLED'
  | 'UNKNOWN_TABLE'
  | 'UNKNOWN_COLUMN'
  | 'UNSUPPORTED_TABLE'
  | 'INVALID_ARGUMENT'
  | 'CONFIG_INVALID'
  | 'SINK_PERMANENT'
  | 'SINK_UNAVAILABLE'
  | 'NOT_FOUND'
  | 'RESTORE_CONFLICT'
  | 'INTERNAL';

export class AuditeError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AuditeError';
    this.code = code;
  }
}

export function isAuditeError(error: unknown, code?: ErrorCode): error is AuditeError {
  return error instanceof AuditeError && (code === undefined || error.code === code);
}

/** SQLite result codes surface as `code` on better-sqlite3's SqliteError. */
export function sqliteCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

export function isBusy(error: unknown): boolean {
  const code = sqliteCode(error);
  return code !== undefined && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}
