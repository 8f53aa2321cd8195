import { z } from 'zod';
import { quoteIdent as q, quoteString as s } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { SETTINGS_TABLE } from './feed-schema.ts';

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
  const exists = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(SETTINGS_TABLE);
  if (exists === undefined) return undefined;
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

/** Options given now override the stored ones field by field; the rest stay as stored. */
export function mergeSpec(stored: CaptureSpec | undefined, given: Partial<CaptureSpec>): CaptureSpec {
  const base = stored ?? DEFAULT_SPEC;
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return captureSpecSchema.parse({ ...base, ...defined });
}
