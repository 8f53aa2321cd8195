// Helpers for the audit tests: real database files, enabled through the library, written by a real client.
import Database from 'better-sqlite3';
import { withContext, type ChangeContext } from '../../src/capture/context.ts';
import { enable, type EnableOptions } from '../../src/capture/enable.ts';
import { ensureAuditIndexes } from '../../src/history/audit-indexes.ts';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { tempDbPath } from '../support/temp.ts';

export type Db = Database.Database;

/** A fresh file with `ddl`, capture enabled with the history indexes (and the actor index unless told not to). */
export function auditDb(ddl: string, options: EnableOptions & { actorIndex?: boolean } = {}): string {
  const file = tempDbPath();
  const raw = new Database(file);
  raw.exec(ddl);
  raw.close();
  const { actorIndex = true, ...enableOptions } = options;
  const db = openDatabase(file);
  try {
    enable(db, { historyIndexes: true, ...enableOptions });
    if (actorIndex && enableOptions.historyIndexes !== false) ensureAuditIndexes(db);
  } finally {
    db.close();
  }
  return file;
}

/** The app's connection. */
export function openDb(file: string): Db {
  return new Database(file, { fileMustExist: true, timeout: 5000 });
}

export function lib(db: Db): SqliteDatabase {
  return db as unknown as SqliteDatabase;
}

/** Run writes as the app would with who/why set. */
export function as<T>(db: Db, context: ChangeContext, fn: () => T): T {
  return withContext(lib(db), context, fn);
}

export function withDb<T>(file: string, fn: (db: Db) => T): T {
  const db = openDb(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** Events are stamped by strftime('%s'); tests pin them to known times. */
export function setTime(db: Db, id: number, seconds: number): void {
  db.prepare('UPDATE audite_changefeed SET time = ? WHERE id = ?').run(seconds, id);
}

export function headId(db: Db): number {
  return (db.prepare('SELECT coalesce(max(id), 0) AS id FROM audite_changefeed').get() as { id: number }).id;
}

export const T0 = Date.UTC(2024, 4, 1, 0, 0, 0) / 1000; // 2024-05-01T00:00:00Z

/** Every table's rows and the schema, to prove that a refused command wrote nothing. */
export function snapshot(file: string): string {
  return withDb(file, (db) => {
    const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[];
    const schema = db.prepare('SELECT type, name, sql FROM sqlite_schema ORDER BY name').all();
    const rows = tables.map((t) => [
      t.name,
      db
        .prepare(`SELECT * FROM "${t.name.replaceAll('"', '""')}"`)
        .raw(true)
        .all(),
    ]);
    return JSON.stringify({ schema, rows }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : Buffer.isBuffer(v) ? v.toString('hex') : v));
  });
}
