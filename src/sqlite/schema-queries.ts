import { isBusy } from '../errors.ts';
import { lockedError } from './open-database.ts';
import type { SqliteDatabase } from './sqlite-database.ts';

/** Small questions about a database's schema, asked the same way everywhere. */
export function tableExists(db: SqliteDatabase, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}

/** Column names of a table; empty when there is no such table. */
export function tableColumns(db: SqliteDatabase, table: string): Set<string> {
  return new Set((db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name));
}

/** BEGIN IMMEDIATE: takes the write lock now, so a lock held past the busy timeout is a DB_LOCKED error. */
export function beginImmediate(db: SqliteDatabase): void {
  try {
    db.exec('BEGIN IMMEDIATE');
  } catch (cause) {
    if (isBusy(cause)) throw lockedError(db.name, cause);
    throw cause;
  }
}

/** Runs `fn` in one IMMEDIATE transaction: committed whole, or rolled back whole. */
export function writeTransaction<T>(db: SqliteDatabase, fn: () => T): T {
  beginImmediate(db);
  try {
    const result = fn();
    db.exec('COMMIT');
    return result;
  } catch (cause) {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (isBusy(cause)) throw lockedError(db.name, cause);
    throw cause;
  }
}
