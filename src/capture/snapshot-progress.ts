import { z } from 'zod';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { SETTINGS_TABLE } from './feed-schema.ts';
import { tableExists } from '../sqlite/schema-queries.ts';

/**
 * Where a snapshot stands, in audite_settings under the key `snapshot`. It is
 * written in the same transaction as the chunk it describes, so after a crash
 * the progress and the feed agree: the next run resumes after the last
 * committed chunk, neither skipping rows nor emitting a chunk twice.
 *
 * Key values keep their SQLite storage class exactly (integers beyond 2^53,
 * REALs, BLOBs), so a resumed scan restarts at the very same row.
 */
const keyValue = z.union([
  z.null(),
  z.object({ i: z.string() }).strict(),
  z.object({ r: z.string() }).strict(),
  z.object({ t: z.string() }).strict(),
  z.object({ b: z.string() }).strict(),
]);

export const snapshotStateSchema = z.object({
  id: z.string(),
  tables: z.array(z.string()),
  /** Index in `tables` of the table being copied; tables.length when done. */
  index: z.number().int().nonnegative(),
  /** Key of the last row copied from tables[index]; null before its first chunk. */
  after: z.array(keyValue).nullable(),
  /** Rows emitted by the whole run, and from tables[index]. */
  rows: z.number().int().nonnegative(),
  tableRows: z.number().int().nonnegative(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
});

export type SnapshotState = z.infer<typeof snapshotStateSchema>;
export type KeyValue = z.infer<typeof keyValue>;
export type SqlValue = bigint | number | string | Buffer | null;

const KEY = 'snapshot';

export function readSnapshotState(db: SqliteDatabase): SnapshotState | undefined {
  const exists = tableExists(db, SETTINGS_TABLE);
  if (!exists) return undefined;
  const value = db
    .prepare(`SELECT value FROM ${q(SETTINGS_TABLE)} WHERE key = ?`)
    .pluck()
    .get(KEY) as string | undefined;
  if (value === undefined) return undefined;
  const parsed = snapshotStateSchema.safeParse(JSON.parse(value));
  return parsed.success ? parsed.data : undefined;
}

/** Inside the caller's transaction. */
export function writeSnapshotState(db: SqliteDatabase, state: SnapshotState): void {
  db.prepare(`INSERT OR REPLACE INTO ${q(SETTINGS_TABLE)} (key, value) VALUES (?, ?)`).run(KEY, JSON.stringify(state));
}

export function encodeKey(values: readonly SqlValue[]): KeyValue[] {
  return values.map((v) => {
    if (v === null) return null;
    if (typeof v === 'bigint') return { i: v.toString() };
    // String() keeps every digit JSON would, and Infinity, which JSON would turn into null.
    if (typeof v === 'number') return { r: String(v) };
    if (typeof v === 'string') return { t: v };
    return { b: v.toString('hex') };
  });
}

export function decodeKey(values: readonly KeyValue[]): SqlValue[] {
  return values.map((v) => {
    if (v === null) return null;
    if ('i' in v) return BigInt(v.i);
    if ('r' in v) return Number(v.r);
    if ('t' in v) return v.t;
    return Buffer.from(v.b, 'hex');
  });
}
