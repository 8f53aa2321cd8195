import { quoteIdent as q, quoteString as s } from '../sqlite/quote.ts';
import { isRowidAlias, type ColumnInfo, type TableInfo } from './schema-reader.ts';

/**
 * The SQL that turns a row into an event's subject and JSON image. Shared by
 * the capture triggers (over NEW/OLD) and the snapshot (over a table alias),
 * so both give a row the same subject and the same image shape.
 */

// Writers may run SQLite builds whose functions take at most 127 arguments.
const MAX_PAIRS_PER_OBJECT = 63;

/** The columns that identify a row: the primary key, or the rowid under a name no column shadows. */
export function identity(table: TableInfo): { columns: string[]; isRowid: boolean } {
  if (table.primaryKey.length > 0) return { columns: table.primaryKey, isRowid: false };
  if (table.rowidName === undefined) throw new Error(`table ${table.name} has no primary key and no reachable rowid`);
  return { columns: [table.rowidName], isRowid: true };
}

/** The key as text: audite's format, compound keys joined by ':' in key order. `ref` is NEW, OLD or an alias. */
export function subjectSql(table: TableInfo, ref: string): string {
  const { columns, isRowid } = identity(table);
  return columns
    .map((name) => {
      const ident = `${ref}.${q(name)}`;
      const column = table.columns.find((c) => c.name === name);
      if (isRowid || column === undefined || isRowidAlias(table, column)) return ident;
      const value = blobSafe(table, ident, column);
      // A NULL in a rowid table's key must not make the app's write fail on the feed's NOT NULL.
      return column.notNull || table.withoutRowid ? value : `ifnull(${value}, '')`;
    })
    .join(` || ':' || `);
}

/** json_object over `columns`, split where a writer's argument limit would bite. */
export function rowJsonSql(table: TableInfo, columns: readonly ColumnInfo[], ref: string): string {
  const pairs = columns.map((c) => `${s(c.name)}, ${blobSafe(table, `${ref}.${q(c.name)}`, c)}`);
  if (pairs.length <= MAX_PAIRS_PER_OBJECT) return `json_object(${pairs.join(', ')})`;
  const chunks: string[] = [];
  for (let i = 0; i < pairs.length; i += MAX_PAIRS_PER_OBJECT) {
    // Each chunk is '{...}' whose values are all scalars (blobSafe drops JSON subtypes),
    // so it ends in a number, a literal or a quoted string: trimming one brace per side is exact.
    chunks.push(`rtrim(ltrim(json_object(${pairs.slice(i, i + MAX_PAIRS_PER_OBJECT).join(', ')}), '{'), '}')`);
  }
  return `json('{' || ${chunks.join(` || ',' || `)} || '}')`;
}

/**
 * A column value as a JSON scalar. JSON cannot hold BLOBs: audite writes them
 * as upper-case hex. And a text value the writer produced with json() still
 * carries SQLite's JSON subtype in NEW, so json_object would nest it as an
 * object here but store it as a string once read back from the table (OLD,
 * snapshots): `|| ''` drops the subtype, so a value is always its text.
 */
function blobSafe(table: TableInfo, ident: string, column: ColumnInfo): string {
  if (isRowidAlias(table, column)) return ident;
  const declared = column.type.toUpperCase();
  if (table.strict && column.hidden === 0 && ['INT', 'INTEGER', 'REAL'].includes(declared)) return ident;
  if (table.strict && column.hidden === 0 && declared === 'TEXT') return `(${ident} || '')`;
  return `CASE typeof(${ident}) WHEN 'text' THEN ${ident} || '' WHEN 'blob' THEN hex(${ident}) ELSE ${ident} END`;
}
