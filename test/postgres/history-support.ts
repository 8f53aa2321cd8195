// Helpers for the PostgreSQL audit tests: a fresh database with audite's feed, written by a real `pg` client.
import type pg from 'pg';
import { enablePostgres } from '../../src/capture/postgres/pg-enable.ts';
import { pgFeedObjects, pgHistoryIndexes } from '../../src/capture/postgres/pg-feed-schema.ts';
import type { AuditStore } from '../../src/history/audit-store.ts';
import { openPgAuditStore } from '../../src/history/postgres/pg-audit-store.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';

export interface AuditPg {
  url: string;
  name: string;
  /** The app's connection. */
  app: pg.Client;
}

export interface AuditPgOptions {
  /** Tables to capture, as audite names them (`users`, `sales.lines`), with the columns to leave out of the feed. */
  capture?: Record<string, { exclude?: string[] }>;
  /** Create the opt-in history indexes (default true). */
  historyIndexes?: boolean;
}

/**
 * A fresh database with `ddl`, captured by audite's own `enablePostgres` (the
 * feed, the triggers and, by default, the history indexes). With nothing to
 * capture, only the feed objects are created: tests then write feed rows themselves.
 */
export async function auditPg(ddl: string, options: AuditPgOptions = {}): Promise<AuditPg> {
  const { url, name } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(ddl);
  const historyIndexes = options.historyIndexes ?? true;
  const tables = Object.keys(options.capture ?? {});
  if (tables.length === 0) {
    for (const object of pgFeedObjects('audite')) await app.query(object.sql);
    if (historyIndexes) for (const index of pgHistoryIndexes('audite')) await app.query(index.sql);
    return { url, name, app };
  }
  const excludeColumns = Object.fromEntries(Object.entries(options.capture ?? {}).map(([table, spec]) => [table, spec.exclude ?? []]));
  const client = await connectPostgres(url);
  try {
    await enablePostgres(client, { tables, excludeColumns, historyIndexes });
  } finally {
    await client.end();
  }
  return { url, name, app };
}

/** Runs `fn` in one transaction with who/why set the way apps set them. */
export async function as<T>(
  app: pg.Client,
  context: { actor?: string; reason?: string; impersonatedBy?: string; requestId?: string },
  fn: () => Promise<T>,
): Promise<T> {
  await app.query('BEGIN');
  try {
    const settings: [string, string | undefined][] = [
      ['audite.actor', context.actor],
      ['audite.reason', context.reason],
      ['audite.impersonated_by', context.impersonatedBy],
      ['audite.request_id', context.requestId],
    ];
    for (const [name, value] of settings) if (value !== undefined) await app.query('SELECT set_config($1, $2, true)', [name, value]);
    const result = await fn();
    await app.query('COMMIT');
    return result;
  } catch (error) {
    await app.query('ROLLBACK');
    throw error;
  }
}

/** Pins event `id` to a time (unix seconds), as tests need known times. */
export async function setTime(app: pg.Client, id: number, seconds: number): Promise<void> {
  await app.query('UPDATE audite.changefeed SET time = to_timestamp($2) WHERE id = $1', [id, seconds]);
}

export async function headId(app: pg.Client): Promise<number> {
  const { rows } = await app.query<{ id: string }>('SELECT coalesce(max(id), 0)::text AS id FROM audite.changefeed');
  return Number(rows[0]?.id);
}

export const T0 = Date.UTC(2024, 4, 1, 0, 0, 0) / 1000; // 2024-05-01T00:00:00Z

/** A store on its own connection, closed by the caller (use `withStore`). */
export async function withStore<T>(url: string, fn: (store: AuditStore) => Promise<T>, options: { busyTimeoutMs?: number } = {}): Promise<T> {
  const store = await openPgAuditStore(url, options);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

export async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

/** Every table's rows (audite's feed included) and the schema's columns, to prove that a refused command wrote nothing. */
export async function pgSnapshot(app: pg.Client): Promise<string> {
  const { rows: tables } = await app.query<{ t: string }>(
    `SELECT format('%I.%I', table_schema, table_name) AS t FROM information_schema.tables
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE' ORDER BY 1`,
  );
  const out: unknown[] = [];
  for (const { t } of tables) out.push([t, (await app.query(`SELECT to_jsonb(x)::text AS r FROM ${t} AS x ORDER BY 1`)).rows]);
  const { rows: columns } = await app.query(
    `SELECT table_schema, table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns
      WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2, ordinal_position`,
  );
  return JSON.stringify({ out, columns });
}
