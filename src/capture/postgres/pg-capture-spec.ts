import { z } from 'zod';
import type { PgClient } from '../../postgres/pg-client.ts';
import { qualified, quoteLiteral } from '../../postgres/quote.ts';
import { PG_SETTINGS_TABLE } from './pg-feed-schema.ts';

/**
 * What to capture on PostgreSQL, stored in `<schema>.settings` under the key
 * `capture`, so that a plain re-run of `enable` keeps an excluded column
 * excluded and `status` can tell when the triggers no longer match it.
 * Table names are sources: bare for tables in `public`, `schema.table` otherwise.
 */
export const pgCaptureSpecSchema = z.object({
  /** null: every ordinary and partitioned table in `public`. */
  tables: z.array(z.string()).nullable().default(null),
  excludeTables: z.array(z.string()).default([]),
  /** table → columns whose values never enter the feed. */
  excludeColumns: z.record(z.string(), z.array(z.string())).default({}),
  skipNoopUpdates: z.boolean().default(false),
  /** Updates store in `new` only the columns that changed, next to the full `old` (PostgreSQL-Audit's shape). */
  changedOnly: z.boolean().default(false),
  historyIndexes: z.boolean().default(false),
});

export type PgCaptureSpec = z.infer<typeof pgCaptureSpecSchema>;

export const DEFAULT_PG_SPEC: PgCaptureSpec = pgCaptureSpecSchema.parse({});
const KEY = 'capture';

/** The stored spec; undefined when capture was never enabled in `schema` (or the row is unreadable). */
export async function readPgStoredSpec(client: PgClient, schema: string): Promise<PgCaptureSpec | undefined> {
  // A catalog scan, not to_regclass(): after waiting for the install lock, the syscache may not know yet the table another enable made.
  const { rows: exists } = await client.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'r') AS ok`,
    [schema, PG_SETTINGS_TABLE],
  );
  if (exists[0]?.ok !== true) return undefined;
  const { rows } = await client.query<{ value: string }>(`SELECT value::text AS value FROM ${qualified(schema, PG_SETTINGS_TABLE)} WHERE key = $1`, [KEY]);
  const row = rows[0];
  if (row === undefined) return undefined;
  const parsed = pgCaptureSpecSchema.safeParse(JSON.parse(row.value));
  return parsed.success ? parsed.data : undefined;
}

export function storePgSpecSql(schema: string, spec: PgCaptureSpec): string {
  return `INSERT INTO ${qualified(schema, PG_SETTINGS_TABLE)} (key, value) VALUES (${quoteLiteral(KEY)}, ${quoteLiteral(JSON.stringify(spec))}::jsonb)
  ON CONFLICT (key) DO UPDATE SET value = excluded.value`;
}

export function samePgSpec(a: PgCaptureSpec | undefined, b: PgCaptureSpec): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Options given now override the stored ones field by field. Column
 * exclusions add up, as on SQLite, so excluding one more column never brings
 * back one excluded earlier; only `include` (table → columns) removes one.
 * PostgreSQL names are case-sensitive, so they are compared exactly.
 */
export function mergePgSpec(stored: PgCaptureSpec | undefined, given: Partial<PgCaptureSpec>, include: Record<string, string[]> = {}): PgCaptureSpec {
  const base = stored ?? DEFAULT_PG_SPEC;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const excludeColumns: Record<string, string[]> = {};
  const add = (table: string, columns: string[]): void => {
    const list = (excludeColumns[table] ??= []);
    for (const column of columns) if (!list.includes(column)) list.push(column);
  };
  for (const [table, columns] of Object.entries(base.excludeColumns)) add(table, columns);
  for (const [table, columns] of Object.entries(given.excludeColumns ?? {})) add(table, columns);
  for (const [table, columns] of Object.entries(include)) {
    const kept = (excludeColumns[table] ?? []).filter((c) => !columns.includes(c));
    if (kept.length > 0) excludeColumns[table] = kept;
    else delete excludeColumns[table];
  }
  return pgCaptureSpecSchema.parse({ ...base, ...defined, excludeColumns });
}
