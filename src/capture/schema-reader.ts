import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';

export interface ColumnInfo {
  name: string;
  /** Declared type, as written (may be empty). */
  type: string;
  notNull: boolean;
  /** 1-based position in the primary key, 0 when not part of it. */
  pk: number;
  /** 0 ordinary, 2 virtual generated, 3 stored generated. */
  hidden: number;
}

export interface TableInfo {
  name: string;
  kind: 'table' | 'virtual' | 'shadow';
  withoutRowid: boolean;
  strict: boolean;
  columns: ColumnInfo[];
  /** Primary-key columns in key order; empty when the table has none declared. */
  primaryKey: string[];
  /** For tables keyed by rowid: the name that still reaches it (rowid, _rowid_ or oid). */
  rowidName: string | undefined;
}

/** Tables audite itself owns, or SQLite's internals: never captured. */
export function isInternalTable(name: string): boolean {
  const lower = name.toLowerCase();
  return lower.startsWith('sqlite_') || lower.startsWith('audite_');
}

interface TableListRow {
  name: string;
  type: string;
  wr: number;
  strict: number;
}

export function listTables(db: SqliteDatabase): TableListRow[] {
  return db
    .prepare("SELECT name, type, wr, strict FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'virtual', 'shadow') ORDER BY name")
    .all() as TableListRow[];
}

export function readTable(db: SqliteDatabase, row: TableListRow): TableInfo {
  const kind = row.type === 'virtual' ? 'virtual' : row.type === 'shadow' ? 'shadow' : 'table';
  const columns =
    kind === 'table'
      ? (db.prepare('SELECT name, type, "notnull" AS "notNull", pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid').all(row.name) as ColumnInfo[]).map(
          (c) => ({ ...c, notNull: Boolean(c.notNull) }),
        )
      : [];
  const primaryKey = columns
    .filter((c) => c.pk > 0)
    .sort((a, b) => a.pk - b.pk)
    .map((c) => c.name);
  const withoutRowid = row.wr === 1;
  let rowidName: string | undefined;
  if (!withoutRowid && primaryKey.length === 0) {
    const taken = new Set(columns.map((c) => c.name.toLowerCase()));
    rowidName = ['rowid', '_rowid_', 'oid'].find((n) => !taken.has(n));
  }
  return { name: row.name, kind, withoutRowid, strict: row.strict === 1, columns, primaryKey, rowidName };
}

export function readTables(db: SqliteDatabase): TableInfo[] {
  return listTables(db).map((row) => readTable(db, row));
}

/** An INTEGER PRIMARY KEY column is the rowid itself: always an integer, never NULL. */
export function isRowidAlias(table: TableInfo, column: ColumnInfo): boolean {
  return !table.withoutRowid && table.primaryKey.length === 1 && column.pk === 1 && column.type.toUpperCase() === 'INTEGER';
}
