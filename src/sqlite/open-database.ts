import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AuditeError, isBusy, sqliteCode } from '../errors.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

export interface OpenOptions {
  /** Open without write access: the relay's reader and `status` use this. */
  readonly?: boolean;
  /** How long to wait for another writer's lock before failing (ms). */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * Opens an existing SQLite database, never creating one by accident, and turns
 * the ways this can go wrong into one-line errors that say what to do.
 */
export function openDatabase(file: string, options: OpenOptions = {}): SqliteDatabase {
  const readonly = options.readonly ?? false;
  let stat;
  try {
    stat = statSync(file);
  } catch (cause) {
    throw new AuditeError('DB_NOT_FOUND', `database ${file} does not exist; check the path (audite never creates an empty database)`, { cause });
  }
  if (!stat.isFile()) {
    throw new AuditeError('DB_NOT_SQLITE', `${file} is not a regular file; point audite at a SQLite database file`);
  }
  if (!readonly) assertWritable(file, stat.mode);

  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, readonly, timeout: options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS });
  } catch (cause) {
    throw translateOpenError(file, cause);
  }
  try {
    // Reading the schema is the first access that touches the file's header.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
  } catch (cause) {
    db.close();
    throw translateOpenError(file, cause);
  }
  return db as unknown as SqliteDatabase;
}

function assertWritable(file: string, mode: number): void {
  // root bypasses permission checks, so honour the mode bits an operator set too.
  const noWriteBits = (mode & 0o222) === 0;
  let writable = !noWriteBits;
  try {
    accessSync(file, constants.W_OK);
    accessSync(dirname(file), constants.W_OK);
  } catch {
    writable = false;
  }
  if (!writable) {
    throw new AuditeError('DB_READONLY', `database ${file} (or its directory) is read-only; audite needs write access to install triggers and keep its cursor`);
  }
}

export function translateOpenError(file: string, cause: unknown): AuditeError {
  const code = sqliteCode(cause) ?? '';
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
    return new AuditeError('DB_NOT_SQLITE', `${file} is not a SQLite database (or it is corrupt)`, { cause });
  }
  if (isBusy(cause)) return lockedError(file, cause);
  if (code.startsWith('SQLITE_READONLY')) {
    return new AuditeError('DB_READONLY', `database ${file} is read-only; audite needs write access`, { cause });
  }
  if (code.startsWith('SQLITE_CANTOPEN')) {
    return new AuditeError('DB_NOT_FOUND', `cannot open database ${file}; check the path and permissions`, { cause });
  }
  return new AuditeError('INTERNAL', `cannot open database ${file}: ${(cause as Error).message}`, { cause });
}

export function lockedError(file: string, cause: unknown): AuditeError {
  return new AuditeError(
    'DB_LOCKED',
    `database ${file} is locked by another connection beyond the busy timeout; retry when its transaction ends, or raise --busy-timeout`,
    { cause },
  );
}
