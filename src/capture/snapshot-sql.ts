import { quoteIdent as q, quoteString as s } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { FEED_TABLE, SPEC_VERSION } from './feed-schema.ts';
import { rowJsonSql, subjectSql } from './row-image.ts';
import type { TableInfo } from './schema-reader.ts';

/**
 * SQL that copies a table's existing rows into the feed, one key range at a
 * time. Subject and data come from row-image.ts, as the capture triggers'
 * do, so a snapshot row and a later trigger event for the same row carry the
 * same subject and the same image shape.
 */

export const SNAPSHOT_SUFFIX = 'snapshot';
const ALIAS = 'audite_row';

export interface KeyColumn {
  /** Column name, or the rowid's reachable name. */
  name: string;
  /** The collation the key's index orders by; undefined for the rowid. */
  collation: string | undefined;
  desc: boolean;
}

export interface SnapshotSql {
  table: string;
  /** The scan order: the rowid, or the primary key's index. */
  key: KeyColumn[];
  /** Params: @skip, and @a0… when `after`. Returns the key of the chunk's last row. */
  boundary(after: boolean): string;
  /** Params: @run, @a0… when `after`, @b0… when `upTo`. */
  insert(after: boolean, upTo: boolean): string;
  count: string;
}

export function snapshotSql(db: SqliteDatabase, table: TableInfo, excludeColumns: ReadonlySet<string>): SnapshotSql {
  const key = scanKey(db, table);
  const ref = (c: KeyColumn): string => `${q(ALIAS)}.${q(c.name)}${c.collation === undefined ? '' : ` COLLATE ${q(c.collation)}`}`;
  const order = key.map((c) => `${ref(c)}${c.desc ? ' DESC' : ''}`).join(', ');
  const where = (after: boolean, upTo: boolean): string => {
    const terms = [...(after ? [rangeAfter(key, ref, 'a')] : []), ...(upTo ? [rangeUpTo(key, ref, 'b')] : [])];
    return terms.length === 0 ? '' : ` WHERE ${terms.join(' AND ')}`;
  };
  const from = `FROM ${q(table.name)} AS ${q(ALIAS)}`;
  const captured = table.columns.filter((c) => !excludeColumns.has(c.name));
  const alias = q(ALIAS);
  const type = s(`${table.name}.${SNAPSHOT_SUFFIX}`);
  return {
    table: table.name,
    key,
    boundary: (after) => `SELECT ${key.map((c) => `${q(ALIAS)}.${q(c.name)}`).join(', ')} ${from}${where(after, false)} ORDER BY ${order} LIMIT 1 OFFSET @skip`,
    insert: (after, upTo) =>
      `INSERT INTO ${q(FEED_TABLE)} (source, subject, type, specversion, data, context) SELECT ${s(table.name)}, ${subjectSql(table, alias)}, ${type}, ${s(SPEC_VERSION)}, json_object('new', ${rowJsonSql(table, captured, alias)}), json_object('reason', 'snapshot', 'snapshot', @run) ${from}${where(after, upTo)} ORDER BY ${order}`,
    count: `SELECT count(*) FROM ${q(table.name)}`,
  };
}

/** Rowid tables scan by rowid (an integer, cheapest); others by their primary key's index, in its collations and directions. */
function scanKey(db: SqliteDatabase, table: TableInfo): KeyColumn[] {
  const rowid = table.withoutRowid ? undefined : (table.rowidAlias ?? table.rowidName);
  if (rowid !== undefined) return [{ name: rowid, collation: undefined, desc: false }];
  const index = db.prepare("SELECT name FROM pragma_index_list(?) WHERE origin = 'pk'").pluck().get(table.name) as string | undefined;
  const columns =
    index === undefined
      ? []
      : (db.prepare('SELECT name, coll, "desc" FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno').all(index) as {
          name: string;
          coll: string;
          desc: number;
        }[]);
  if (columns.length === 0) return table.primaryKey.map((name) => ({ name, collation: 'BINARY', desc: false }));
  return columns.map((c) => ({ name: c.name, collation: c.coll, desc: c.desc === 1 }));
}

/**
 * Rows strictly after the key @p0, @p1… in scan order. The leading column's
 * own bound lets SQLite seek in the index (a row value with COLLATE alone does
 * not); the full comparison then decides.
 */
function rangeAfter(key: KeyColumn[], ref: (c: KeyColumn) => string, p: string): string {
  const first = key[0] as KeyColumn;
  const op = (c: KeyColumn): string => (c.desc ? '<' : '>');
  if (key.length === 1) return `${ref(first)} ${op(first)} @${p}0`;
  const lead = `${ref(first)} ${op(first)}= @${p}0`;
  return `${lead} AND ${lexicographic(key, ref, p, op)}`;
}

function rangeUpTo(key: KeyColumn[], ref: (c: KeyColumn) => string, p: string): string {
  const first = key[0] as KeyColumn;
  const op = (c: KeyColumn): string => (c.desc ? '>=' : '<=');
  if (key.length === 1) return `${ref(first)} ${op(first)} @${p}0`;
  return `${ref(first)} ${op(first)} @${p}0 AND NOT ${lexicographic(key, ref, p, (c) => (c.desc ? '<' : '>'))}`;
}

/** (k1, k2, …) after (@p0, @p1, …): a row value when all columns run one way, else spelled out. */
function lexicographic(key: KeyColumn[], ref: (c: KeyColumn) => string, p: string, op: (c: KeyColumn) => string): string {
  const uniform = key.every((c) => c.desc === key[0]?.desc);
  if (uniform) return `(${key.map(ref).join(', ')}) ${op(key[0] as KeyColumn)} (${key.map((_, i) => `@${p}${i}`).join(', ')})`;
  const terms = key.map((c, i) => [...key.slice(0, i).map((e, j) => `${ref(e)} = @${p}${j}`), `${ref(c)} ${op(c)} @${p}${i}`].join(' AND '));
  return `(${terms.map((t) => `(${t})`).join(' OR ')})`;
}
