import { z } from 'zod';
import { quoteIdent as q, quoteString as s } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { SETTINGS_TABLE } from './feed-schema.ts';
import { tableExists } from '../sqlite/schema-queries.ts';

/**
 * What to capture. Stored in the database, so that a plain re-run of
 * `enable` (or the daemon refreshing stale triggers) keeps an excluded
 * column excluded instead of silently capturing it again.
 */
export const captureSpecSchema = z.object({
  /** null: every regular table. */
  tables: z.array(z.string()).nullable().default(null),
  excludeTables: z.array(z.string()).default([]),
  /** table → columns whose values never enter the feed. */
  excludeColumns: z.record(z.string(), z.array(z.string())).default({}),
  skipNoopUpdates: z.boolean().default(false),
  historyIndexes: z.boolean().default(false),
});

export type CaptureSpec = z.infer<typeof captureSpecSchema>;

export const DEFAULT_SPEC: CaptureSpec = captureSpecSchema.parse({});
const KEY = 'capture';

export function readStoredSpec(db: SqliteDatabase): CaptureSpec | undefined {
  const exists = tableExists(db, SETTINGS_TABLE);
  if (!exists) return undefined;
  const row = db.prepare(`SELECT value FROM ${q(SETTINGS_TABLE)} WHERE key = ?`).get(KEY) as { value: string } | undefined;
  if (row === undefined) return undefined;
  const parsed = captureSpecSchema.safeParse(JSON.parse(row.value));
  return parsed.success ? parsed.data : undefined;
}

export function storeSpecSql(spec: CaptureSpec): string {
  return `INSERT OR REPLACE INTO ${q(SETTINGS_TABLE)} (key, value) VALUES (${s(KEY)}, ${s(JSON.stringify(spec))})`;
}

export function sameSpec(a: CaptureSpec | undefined, b: CaptureSpec): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Options given now override the stored ones field by field; the rest stay as
 * stored. Column exclusions are the exception: they add up, so that excluding
 * one more column never quietly brings back one excluded earlier. Only
 * `include` (table → columns) takes an exclusion away.
 */
export function mergeSpec(stored: CaptureSpec | undefined, given: Partial<CaptureSpec>, include: Record<string, string[]> = {}): CaptureSpec {
  const base = stored ?? DEFAULT_SPEC;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  const excludeColumns: Record<string, string[]> = {};
  const add = (table: string, columns: string[]): void => {
    const key = Object.keys(excludeColumns).find((t) => t.toLowerCase() === table.toLowerCase()) ?? table;
    const list = (excludeColumns[key] ??= []);
    for (const column of columns) if (!list.some((c) => c.toLowerCase() === column.toLowerCase())) list.push(column);
  };
  for (const [table, columns] of Object.entries(base.excludeColumns)) add(table, columns);
  for (const [table, columns] of Object.entries(given.excludeColumns ?? {})) add(table, columns);
  for (const [table, columns] of Object.entries(include)) {
    const key = Object.keys(excludeColumns).find((t) => t.toLowerCase() === table.toLowerCase());
    if (key === undefined) continue;
    const kept = (excludeColumns[key] ?? []).filter((c) => !columns.some((i) => i.toLowerCase() === c.toLowerCase()));
    if (kept.length > 0) excludeColumns[key] = kept;
    else delete excludeColumns[key];
  }
  return captureSpecSchema.parse({ ...base, ...defined, excludeColumns });
}
