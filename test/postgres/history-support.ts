// Helpers for the PostgreSQL audit tests: a fresh database with audite's feed, written by a real `pg` client.
import type pg from 'pg';
import { pgFeedObjects, pgHistoryIndexes } from '../../src/capture/postgres/pg-feed-schema.ts';
import type { AuditStore } from '../../src/history/audit-store.ts';
import { openPgAuditStore } from '../../src/history/postgres/pg-audit-store.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';

export interface AuditPg {
  url: string;
  name: string;
  /** The app's connection. */
  app: pg.Client;
}

export interface AuditPgOptions {
  /** Tables to capture (as SQL names: quote odd ones), with the columns to leave out of the feed. */
  capture?: Record<string, { exclude?: string[] }>;
  /** Create the opt-in history indexes (default true). */
  historyIndexes?: boolean;
}

/**
 * A fresh database with `ddl`, audite's feed objects and (by default) the
 * history indexes. Capture is a stand-in written here to the event model of
 * the feed contract (pg-feed-schema.ts): row-level triggers whose function
 * lives in audite's schema, to_jsonb images, subject = key columns joined by
 * ':', context from the audite.* settings, TRUNCATE as an event of its own.
 */
export async function auditPg(ddl: string, options: AuditPgOptions = {}): Promise<AuditPg> {
  const { url, name } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(ddl);
  for (const object of pgFeedObjects('audite')) await app.query(object.sql);
  if (options.historyIndexes ?? true) for (const index of pgHistoryIndexes('audite')) await app.query(index.sql);
  await app.query(CAPTURE_FUNCTION);
  for (const [table, spec] of Object.entries(options.capture ?? {})) await captureTable(app, table, spec.exclude ?? []);
  return { url, name, app };
}

const CAPTURE_FUNCTION = `
CREATE FUNCTION audite.test_capture() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
  ctx jsonb := nullif(jsonb_strip_nulls(jsonb_build_object(
    'actor', nullif(current_setting('audite.actor', true), ''),
    'reason', nullif(current_setting('audite.reason', true), ''),
    'impersonated_by', nullif(current_setting('audite.impersonated_by', true), ''),
    'request_id', nullif(current_setting('audite.request_id', true), ''))), '{}'::jsonb);
  src text := CASE WHEN TG_TABLE_SCHEMA = 'public' THEN TG_TABLE_NAME ELSE TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME END;
  keys text[] := (SELECT coalesce(array_agg(substr(a, 3) ORDER BY i), '{}') FROM unnest(TG_ARGV) WITH ORDINALITY AS t(a, i) WHERE a LIKE 'k:%');
  excluded text[] := (SELECT coalesce(array_agg(substr(a, 3)), '{}') FROM unnest(TG_ARGV) AS t(a) WHERE a LIKE 'x:%');
  n jsonb; o jsonb; sn text; so text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    INSERT INTO audite.changefeed (source, subject, type, data, context) VALUES (src, '', src || '.truncated', NULL, ctx);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    n := to_jsonb(NEW);
    sn := (SELECT string_agg(n ->> k, ':' ORDER BY i) FROM unnest(keys) WITH ORDINALITY AS t(k, i));
    n := n - excluded;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    o := to_jsonb(OLD);
    so := (SELECT string_agg(o ->> k, ':' ORDER BY i) FROM unnest(keys) WITH ORDINALITY AS t(k, i));
    o := o - excluded;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audite.changefeed (source, subject, type, data, context) VALUES (src, sn, src || '.created', jsonb_build_object('new', n), ctx);
  ELSIF TG_OP = 'DELETE' THEN
    INSERT INTO audite.changefeed (source, subject, type, data, context) VALUES (src, so, src || '.deleted', jsonb_build_object('old', o), ctx);
  ELSIF sn IS DISTINCT FROM so THEN
    INSERT INTO audite.changefeed (source, subject, type, data, context) VALUES
      (src, so, src || '.deleted', jsonb_build_object('old', o), ctx), (src, sn, src || '.created', jsonb_build_object('new', n), ctx);
  ELSE
    INSERT INTO audite.changefeed (source, subject, type, data, context) VALUES (src, sn, src || '.updated', jsonb_build_object('new', n, 'old', o), ctx);
  END IF;
  RETURN NULL;
END
$fn$`;

async function captureTable(app: pg.Client, table: string, exclude: string[]): Promise<void> {
  const { rows } = await app.query<{ name: string }>(
    `SELECT a.attname AS name FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.ord`,
    [table],
  );
  const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;
  const args = [...rows.map((r) => literal(`k:${r.name}`)), ...exclude.map((c) => literal(`x:${c}`))].join(', ');
  await app.query(`CREATE TRIGGER audite_capture_row AFTER INSERT OR UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION audite.test_capture(${args})`);
  await app.query(`CREATE TRIGGER audite_capture_truncate AFTER TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION audite.test_capture()`);
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
