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
  /** The INTEGER PRIMARY KEY column that is the rowid itself, if any. */
  rowidAlias: string | undefined;
  /** Every full (not partial), column-only UNIQUE or PRIMARY KEY index: what INSERT OR REPLACE resolves on. */
  uniqueKeys: UniqueKey[];
}

export interface UniqueKey {
  columns: { name: string; collation: string }[];
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
  if (!withoutRowid) {
    const taken = new Set(columns.map((c) => c.name.toLowerCase()));
    rowidName = ['rowid', '_rowid_', 'oid'].find((n) => !taken.has(n));
  }
  const rowidAlias = withoutRowid || kind !== 'table' ? undefined : findRowidAlias(db, row.name, columns);
  const uniqueKeys = kind === 'table' ? readUniqueKeys(db, row.name) : [];
  return { name: row.name, kind, withoutRowid, strict: row.strict === 1, columns, primaryKey, rowidName, rowidAlias, uniqueKeys };
}

function readUniqueKeys(db: SqliteDatabase, table: string): UniqueKey[] {
  const indexes = db.prepare('SELECT name FROM pragma_index_list(?) WHERE "unique" = 1 AND partial = 0 ORDER BY name').all(table) as { name: string }[];
  const keys: UniqueKey[] = [];
  for (const index of indexes) {
    const columns = db.prepare('SELECT cid, name, coll FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno').all(index.name) as {
      cid: number;
      name: string | null;
      coll: string;
    }[];
    // Expression indexes (cid -2) cannot be matched column by column; such REPLACE conflicts stay unstaged.
    if (columns.some((c) => c.cid < 0 || c.name === null)) continue;
    keys.push({ columns: columns.map((c) => ({ name: c.name as string, collation: c.coll })) });
  }
  return keys;
}

/**
 * A lone INTEGER PRIMARY KEY is the rowid, except in the quirk
 * `INTEGER PRIMARY KEY DESC`, which is an ordinary column (NULLs, BLOBs and
 * all) backed by an index. That index, origin 'pk', tells the two apart.
 */
function findRowidAlias(db: SqliteDatabase, table: string, columns: ColumnInfo[]): string | undefined {
  const keys = columns.filter((c) => c.pk > 0);
  const only = keys[0];
  if (keys.length !== 1 || only === undefined || only.type.toUpperCase() !== 'INTEGER') return undefined;
  const pkIndex = db.prepare("SELECT 1 FROM pragma_index_list(?) WHERE origin = 'pk'").get(table);
  return pkIndex === undefined ? only.name : undefined;
}

export function readTables(db: SqliteDatabase): TableInfo[] {
  return listTables(db).map((row) => readTable(db, row));
}

/** An INTEGER PRIMARY KEY column is the rowid itself: always an integer, never NULL. */
export function isRowidAlias(table: TableInfo, column: ColumnInfo): boolean {
  return table.rowidAlias !== undefined && table.rowidAlias === column.name;
}
