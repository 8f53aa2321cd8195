import { AuditeError } from '../../errors.ts';
import { qualified } from '../../postgres/quote.ts';
import { pgQuery, pgSourceInFeed, type PgFeed } from './pg-feed.ts';

/** A live table, as the catalog and as the feed name it. */
export interface PgTable {
  schema: string;
  name: string;
  /** The relation's oid, as text. */
  oid: string;
  /** The feed's `source`: the bare name in schema public, `schema.table` elsewhere. */
  source: string;
  /** `"schema"."name"`, quoted. */
  sql: string;
}

export interface PgColumn {
  name: string;
  /** format_type(): the declared type, for messages. */
  type: string;
  notNull: boolean;
  hasDefault: boolean;
  /** A generated (computed) column: never written. */
  generated: boolean;
  /** '' | 'a' (GENERATED ALWAYS AS IDENTITY) | 'd' (BY DEFAULT). */
  identity: string;
}

export function sourceOf(schema: string, name: string): string {
  return schema === 'public' ? name : `${schema}.${name}`;
}

const TABLES = `SELECT n.nspname AS schema, c.relname AS name, c.oid::text AS oid
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND n.nspname <> $2 AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema'`;

/**
 * The live table a name means: spelled as the feed spells sources (`users`,
 * `sales.orders`; `public.users` too), exactly, or else case-insensitively as
 * unquoted SQL names are. Undefined when there is none.
 */
export async function findLiveTable(feed: PgFeed, name: string, options: { exactOnly?: boolean } = {}): Promise<PgTable | undefined> {
  type Row = { schema: string; name: string; oid: string };
  const exact = await pgQuery<Row>(feed, `${TABLES} AND ((n.nspname = 'public' AND c.relname = $1) OR n.nspname || '.' || c.relname = $1)`, [
    name,
    feed.schema,
  ]);
  let rows = exact;
  if (rows.length === 0 && options.exactOnly !== true) {
    rows = await pgQuery<Row>(
      feed,
      `${TABLES} AND ((n.nspname = 'public' AND lower(c.relname) = lower($1)) OR lower(n.nspname || '.' || c.relname) = lower($1))`,
      [name, feed.schema],
    );
  }
  if (rows.length > 1) {
    const names = rows.map((r) => JSON.stringify(sourceOf(r.schema, r.name))).join(', ');
    throw new AuditeError('INVALID_ARGUMENT', `table name ${JSON.stringify(name)} is ambiguous in ${feed.name} (${names}); spell it exactly`);
  }
  const row = rows[0];
  if (row === undefined) return undefined;
  return { ...row, source: sourceOf(row.schema, row.name), sql: qualified(row.schema, row.name) };
}

/** The feed's source for a table name: a live table's, or one only the feed still knows (a dropped table keeps its history). */
export async function resolvePgSource(feed: PgFeed, name: string): Promise<string> {
  // Exact names first, live or only in the feed (a dropped "Users" beside a live users); then case-folded.
  const exact = await findLiveTable(feed, name, { exactOnly: true });
  if (exact !== undefined) return exact.source;
  if (await pgSourceInFeed(feed, name)) return name;
  const live = await findLiveTable(feed, name);
  if (live !== undefined) return live.source;
  throw new AuditeError('UNKNOWN_TABLE', `no table named ${JSON.stringify(name)} in ${feed.name}, and the feed has no history for one`);
}

/** A live table for restore: rows come back into tables, not into tables that are gone. */
export async function liveTableForRestore(feed: PgFeed, name: string): Promise<PgTable> {
  const live = await findLiveTable(feed, name);
  if (live !== undefined) return live;
  const dropped = await pgSourceInFeed(feed, name);
  throw new AuditeError(
    'UNKNOWN_TABLE',
    dropped ? `table ${JSON.stringify(name)} no longer exists; restore brings back rows, not tables` : `no table named ${JSON.stringify(name)} in ${feed.name}`,
  );
}

export async function readPgColumns(feed: PgFeed, table: PgTable): Promise<PgColumn[]> {
  const rows = await pgQuery<{ name: string; type: string; not_null: boolean; has_default: boolean; generated: boolean; identity: string }>(
    feed,
    `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null, atthasdef AS has_default,
            attgenerated <> '' AS generated, attidentity::text AS identity
       FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
    [table.oid],
  );
  return rows.map((r) => ({ name: r.name, type: r.type, notNull: r.not_null, hasDefault: r.has_default, generated: r.generated, identity: r.identity }));
}

/** The columns that name a row, in key order: the primary key, else the replica-identity index (as capture's subject uses). */
export async function readPgKeyColumns(feed: PgFeed, table: PgTable): Promise<string[]> {
  const rows = await pgQuery<{ index: string; name: string }>(
    feed,
    `SELECT i.indexrelid::text AS index, a.attname AS name
       FROM pg_index i
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::oid AND (i.indisprimary OR i.indisreplident)
      ORDER BY i.indisprimary DESC, i.indexrelid, k.ord`,
    [table.oid],
  );
  const first = rows[0]?.index;
  return rows.filter((r) => r.index === first).map((r) => r.name);
}

/**
 * A restore on a table whose writes are not captured would go unrecorded:
 * require enabled triggers, run by functions in audite's schema, that fire
 * on INSERT and on UPDATE (row- or statement-level).
 */
export async function assertPgTracked(feed: PgFeed, table: PgTable): Promise<void> {
  const rows = await pgQuery<{ inserts: boolean | null; updates: boolean | null }>(
    feed,
    `SELECT bool_or(t.tgtype & 4 <> 0) AS inserts, bool_or(t.tgtype & 16 <> 0) AS updates
       FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE t.tgrelid = $1::oid AND NOT t.tgisinternal AND t.tgenabled <> 'D' AND n.nspname = $2`,
    [table.oid, feed.schema],
  );
  const row = rows[0];
  if (row?.inserts !== true || row.updates !== true) {
    throw new AuditeError(
      'NOT_ENABLED',
      `table ${JSON.stringify(table.source)} is not tracked (no enabled audite triggers), so a restore would go unrecorded; run \`audite enable\` for it first`,
    );
  }
}

/**
 * Column order of the live table a source names, for showing row images in
 * the table's order (jsonb keeps its keys sorted by length). Cached per source;
 * empty for a table that no longer exists.
 */
export function columnOrderCache(feed: PgFeed): (source: string) => Promise<readonly string[]> {
  const cache = new Map<string, Promise<readonly string[]>>();
  return (source) => {
    let order = cache.get(source);
    if (order === undefined) {
      order = (async () => {
        const table = await findLiveTable(feed, source);
        if (table === undefined || table.source !== source) return [];
        return (await readPgColumns(feed, table)).map((c) => c.name);
      })();
      cache.set(source, order);
    }
    return order;
  };
}
