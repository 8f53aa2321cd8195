import type { PgClient } from '../../postgres/pg-client.ts';

export interface PgColumn {
  name: string;
  /** Position in the table; stable across renames, which lets triggers follow a renamed excluded column. */
  attnum: number;
  generated: boolean;
}

export interface PgTableInfo {
  /** pg_class oid, as text. */
  oid: string;
  schema: string;
  name: string;
  /** The events' source: the bare name in `public`, `schema.table` elsewhere. */
  source: string;
  kind: 'table' | 'partitioned';
  /** The parent's source when this table is a partition. */
  partitionOf: string | undefined;
  columns: PgColumn[];
  /** The row key in key order: the primary key, else the replica identity index; undefined when the table has neither. */
  key: PgKey | undefined;
}

export interface PgKey {
  columns: string[];
  via: 'primary key' | 'replica identity';
  /** A DEFERRABLE primary key may hold duplicates until commit, so a statement's rows cannot be paired by key. */
  deferrable: boolean;
}

export function sourceName(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}

// Every user table outside the system schemas and audite's own schema; temporary tables are per session and never captured.
const TABLES_SQL = `
SELECT c.oid::text AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
       pn.nspname AS parent_schema, pc.relname AS parent_name
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
  LEFT JOIN pg_catalog.pg_class pc ON pc.oid = i.inhparent
  LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace
 WHERE c.relkind IN ('r', 'p') AND c.relpersistence <> 't'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> $1
 ORDER BY n.nspname, c.relname`;

const COLUMNS_SQL = `
SELECT a.attrelid::text AS oid, a.attname::text AS name, a.attnum, a.attgenerated <> '' AS generated
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attrelid, a.attnum`;

// Key columns only (an index's INCLUDE columns are not part of the key).
const KEYS_SQL = `
SELECT i.indrelid::text AS oid, i.indisprimary AS "primary", array_agg(a.attname::text ORDER BY k.ord) AS columns,
       EXISTS (SELECT 1 FROM pg_catalog.pg_constraint x WHERE x.conindid = i.indexrelid AND x.condeferrable) AS deferrable
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
 CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = ANY($1::oid[]) AND (i.indisprimary OR (i.indisreplident AND c.relreplident = 'i')) AND k.ord <= i.indnkeyatts
 GROUP BY i.indrelid, i.indexrelid, i.indisprimary`;

/** The tables capture could track, with their columns and keys. `feedSchema` (audite's own) is left out. */
export async function readPgTables(client: PgClient, feedSchema: string): Promise<PgTableInfo[]> {
  const { rows } = await client.query<{
    oid: string;
    schema: string;
    name: string;
    kind: string;
    parent_schema: string | null;
    parent_name: string | null;
  }>(TABLES_SQL, [feedSchema]);
  const oids = rows.map((r) => r.oid);
  const { rows: columnRows } = await client.query<{ oid: string; name: string; attnum: number; generated: boolean }>(COLUMNS_SQL, [oids]);
  const { rows: keyRows } = await client.query<{ oid: string; primary: boolean; columns: string[]; deferrable: boolean }>(KEYS_SQL, [oids]);
  const columns = new Map<string, PgColumn[]>();
  for (const c of columnRows) {
    const list = columns.get(c.oid) ?? [];
    list.push({ name: c.name, attnum: c.attnum, generated: c.generated });
    columns.set(c.oid, list);
  }
  const keys = new Map<string, PgTableInfo['key']>();
  for (const k of keyRows) {
    // The primary key wins over a replica identity index.
    if (k.primary || !keys.has(k.oid)) keys.set(k.oid, { columns: k.columns, via: k.primary ? 'primary key' : 'replica identity', deferrable: k.deferrable });
  }
  return rows.map((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    source: sourceName(r.schema, r.name),
    kind: r.kind === 'p' ? 'partitioned' : 'table',
    partitionOf: r.parent_schema === null || r.parent_name === null ? undefined : sourceName(r.parent_schema, r.parent_name),
    columns: columns.get(r.oid) ?? [],
    key: keys.get(r.oid),
  }));
}

/**
 * A table by the name an operator gives: its source (`item`, `sales.order`),
 * `public.item`, or, when that matches nothing, the one table whose name
 * matches ignoring case (as an unquoted identifier would).
 */
export function findPgTable(tables: readonly PgTableInfo[], name: string): PgTableInfo | undefined {
  const exact = tables.find((t) => t.source === name || `${t.schema}.${t.name}` === name);
  if (exact !== undefined) return exact;
  const lower = name.toLowerCase();
  const loose = tables.filter((t) => t.source.toLowerCase() === lower || `${t.schema}.${t.name}`.toLowerCase() === lower);
  return loose.length === 1 ? loose[0] : undefined;
}

/** A column by name: exact, else the one matching ignoring case. */
export function findPgColumn(table: PgTableInfo, name: string): PgColumn | undefined {
  const exact = table.columns.find((c) => c.name === name);
  if (exact !== undefined) return exact;
  const loose = table.columns.filter((c) => c.name.toLowerCase() === name.toLowerCase());
  return loose.length === 1 ? loose[0] : undefined;
}

/**
 * `table.column` (`--exclude-column`), where the table may itself be
 * `schema.table` and either name may contain dots: resolved against the
 * tables, the longest table name that leaves a real column wins.
 */
export function resolveColumnRef(tables: readonly PgTableInfo[], value: string): { table: string; column: string } | undefined {
  let match: { table: string; column: string } | undefined;
  for (let i = value.indexOf('.'); i > 0; i = value.indexOf('.', i + 1)) {
    const table = findPgTable(tables, value.slice(0, i));
    const column = table === undefined ? undefined : findPgColumn(table, value.slice(i + 1));
    if (table !== undefined && column !== undefined) match = { table: table.source, column: column.name };
  }
  return match;
}
