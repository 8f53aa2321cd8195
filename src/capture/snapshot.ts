import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditeError, isBusy } from '../errors.ts';
import { lockedError } from '../sqlite/open-database.ts';
import type { SqliteDatabase, SqliteStatement } from '../sqlite/sqlite-database.ts';
import { DEFAULT_SPEC, readStoredSpec, type CaptureSpec } from './capture-spec.ts';
import { planEnable } from './enable-plan.ts';
import { FEED_TABLE } from './feed-schema.ts';
import { readTables, type TableInfo } from './schema-reader.ts';
import { decodeKey, encodeKey, readSnapshotState, writeSnapshotState, type SnapshotState, type SqlValue } from './snapshot-progress.ts';
import { snapshotSql, type SnapshotSql } from './snapshot-sql.ts';
import { beginImmediate, tableExists } from '../sqlite/schema-queries.ts';

/**
 * Copies the rows that already exist in captured tables into the feed as
 * `<table>.snapshot` events (data `{"new": row}`, context
 * `{"reason": "snapshot", "snapshot": <run id>}`), so a new consumer can be
 * built from nothing.
 *
 * - Chunked by key (rowid, else primary key), each chunk one short
 *   BEGIN IMMEDIATE transaction: the app's writes interleave between chunks.
 * - Consistent: a chunk reads its rows and appends their events under the
 *   write lock, so any later change to those rows is a trigger event with a
 *   higher id. Downstream, every row ends in its latest state.
 * - Resumable: progress is saved in the chunk's own transaction (see
 *   snapshot-progress.ts); run it again after a crash or Ctrl-C.
 */

export interface SnapshotOptions {
  /** Captured tables to copy; default: every captured table. */
  tables?: string[];
  /** Rows per transaction. */
  chunkSize?: number;
  /** Pause between chunks (ms); default: as long as the last chunk took, so the app's writers get at least half the time. */
  pauseMs?: number;
  /** Drop an unfinished run's progress and start over. */
  restart?: boolean;
  /** Stops after the current chunk; run again to resume. */
  signal?: AbortSignal;
  onProgress?: (progress: SnapshotProgress) => void;
}

export interface SnapshotProgress {
  id: string;
  table: string;
  tableIndex: number;
  tableCount: number;
  /** Rows copied from this table, and its row count when the run started (an estimate). */
  tableRows: number;
  tableTotal: number;
  /** Rows copied by the whole run, and the sum of the row counts. */
  rows: number;
  total: number;
  /** Rows copied by this call (a resumed run counts from where it resumed). */
  emitted: number;
  done: boolean;
}

export interface SnapshotResult {
  id: string;
  tables: string[];
  complete: boolean;
  resumed: boolean;
  /** Rows emitted by this call. */
  emitted: number;
  /** Rows emitted by the whole run, earlier attempts included. */
  rows: number;
}

export const DEFAULT_CHUNK_SIZE = 1000;
const MAX_ADAPTIVE_PAUSE_MS = 50;

export async function snapshot(db: SqliteDatabase, options: SnapshotOptions = {}): Promise<SnapshotResult> {
  if (db.inTransaction) throw new AuditeError('DB_IN_TRANSACTION', 'cannot snapshot inside an open transaction; COMMIT or ROLLBACK first');
  const chunkSize = options.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new AuditeError('INVALID_ARGUMENT', 'snapshot chunk size must be a positive whole number');
  const spec = readStoredSpec(db) ?? DEFAULT_SPEC;
  const plan = planEnable(db, spec);
  const infos = new Map(readTables(db).map((t) => [t.name.toLowerCase(), t]));
  const { state, resumed } = startOrResume(db, plan, options);
  const sql = new Map(state.tables.map((name) => [name, statementsFor(db, infos.get(name.toLowerCase()) as TableInfo, spec)]));
  const totals = state.tables.map((name) => (sql.get(name) as TableStatements).count.get() as number);
  const total = totals.reduce((a, b) => a + b, 0);

  // A chunk lost to a power cut is lost with its progress row, and redone: no fsync per chunk needed.
  const synchronous = db.pragma('synchronous', { simple: true });
  db.pragma('synchronous = NORMAL');
  let emitted = 0;
  let current = state;
  try {
    while (current.index < current.tables.length && !options.signal?.aborted) {
      const started = performance.now();
      const step = chunk(db, current.id, sql, chunkSize);
      current = step.state;
      emitted += step.count;
      const table = current.tables[Math.min(current.index, current.tables.length - 1)] as string;
      const tableIndex = Math.min(current.index, current.tables.length - 1);
      options.onProgress?.({
        id: current.id,
        table,
        tableIndex,
        tableCount: current.tables.length,
        tableRows: current.index >= current.tables.length ? (totals[tableIndex] ?? 0) : current.tableRows,
        tableTotal: totals[tableIndex] ?? 0,
        rows: current.rows,
        total,
        emitted,
        done: current.finishedAt !== null,
      });
      if (current.finishedAt !== null) break;
      const pause = options.pauseMs ?? Math.min(MAX_ADAPTIVE_PAUSE_MS, Math.ceil(performance.now() - started));
      if (pause > 0) await sleep(pause, undefined, { signal: options.signal }).catch(() => {});
    }
  } finally {
    db.pragma(`synchronous = ${Number(synchronous)}`);
  }
  return { id: current.id, tables: current.tables, complete: current.finishedAt !== null, resumed, emitted, rows: current.rows };
}

interface TableStatements {
  sql: SnapshotSql;
  count: SqliteStatement;
  boundary: (after: boolean) => SqliteStatement;
  insert: (after: boolean, upTo: boolean) => SqliteStatement;
}

function statementsFor(db: SqliteDatabase, info: TableInfo, spec: CaptureSpec): TableStatements {
  const excluded = Object.entries(spec.excludeColumns)
    .filter(([table]) => table.toLowerCase() === info.name.toLowerCase())
    .flatMap(([, columns]) => columns.map((c) => info.columns.find((col) => col.name.toLowerCase() === c.toLowerCase())?.name ?? c));
  const sql = snapshotSql(db, info, new Set(excluded));
  const cache = new Map<string, SqliteStatement>();
  const cached = (key: string, text: () => string, raw: boolean): SqliteStatement => {
    let statement = cache.get(key);
    if (statement === undefined) {
      statement = db.prepare(text());
      if (raw) statement.raw(true).safeIntegers(true);
      cache.set(key, statement);
    }
    return statement;
  };
  return {
    sql,
    count: db.prepare(sql.count).pluck(),
    boundary: (after) => cached(`b${after}`, () => sql.boundary(after), true),
    insert: (after, upTo) => cached(`i${after}${upTo}`, () => sql.insert(after, upTo), false),
  };
}

/** One chunk, in one IMMEDIATE transaction: read progress, copy the next rows, save progress. */
function chunk(db: SqliteDatabase, id: string, statements: Map<string, TableStatements>, chunkSize: number): { state: SnapshotState; count: number } {
  beginImmediate(db);
  try {
    const state = readSnapshotState(db);
    if (state === undefined || state.id !== id) {
      throw new AuditeError('INVALID_ARGUMENT', 'another `audite snapshot --restart` replaced this snapshot run; it stopped without copying more');
    }
    const table = statements.get(state.tables[state.index] as string) as TableStatements;
    const after = state.after === null ? null : decodeKey(state.after);
    const afterParams = params('a', after ?? []);
    const boundary = table.boundary(after !== null).get({ ...afterParams, skip: chunkSize - 1 }) as SqlValue[] | undefined;
    const insertParams = { ...afterParams, ...params('b', boundary ?? []), run: id };
    const count = table.insert(after !== null, boundary !== undefined).run(insertParams).changes;
    const next: SnapshotState =
      boundary === undefined
        ? { ...state, index: state.index + 1, after: null, rows: state.rows + count, tableRows: 0 }
        : { ...state, after: encodeKey(boundary), rows: state.rows + count, tableRows: state.tableRows + count };
    if (next.index >= next.tables.length) next.finishedAt = Date.now();
    writeSnapshotState(db, next);
    db.exec('COMMIT');
    return { state: next, count };
  } catch (cause) {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (isBusy(cause)) throw lockedError(db.name, cause);
    throw cause;
  }
}

function params(prefix: string, values: readonly SqlValue[]): Record<string, SqlValue> {
  return Object.fromEntries(values.map((v, i) => [`${prefix}${i}`, v]));
}

/** Validates before anything is written: a refused snapshot leaves no run behind. */
function startOrResume(db: SqliteDatabase, plan: { tables: string[]; stale: string[] }, options: SnapshotOptions): { state: SnapshotState; resumed: boolean } {
  const captured = plan.tables;
  const feedExists = tableExists(db, FEED_TABLE);
  if (!feedExists) throw new AuditeError('NOT_ENABLED', `${db.name} has no change feed; run \`audite enable ${db.name}\` first`);
  const wanted = options.tables?.map((name) => resolveTable(name, captured));
  beginImmediate(db);
  try {
    const existing = readSnapshotState(db);
    if (existing !== undefined && existing.finishedAt === null && !options.restart) {
      if (wanted !== undefined && !sameTables(wanted, existing.tables)) {
        throw new AuditeError(
          'INVALID_ARGUMENT',
          `an unfinished snapshot of ${existing.tables.join(', ')} exists; run \`audite snapshot\` without --table to resume it, or add --restart to start over`,
        );
      }
      assertCurrent(existing.tables, captured, plan.stale);
      db.exec('COMMIT');
      return { state: existing, resumed: true };
    }
    const tables = wanted ?? captured;
    if (tables.length === 0) throw new AuditeError('NOT_ENABLED', 'no table is captured; run `audite enable` first');
    assertCurrent(tables, captured, plan.stale);
    const state: SnapshotState = {
      id: randomUUID(),
      tables: [...new Set(tables)],
      index: 0,
      after: null,
      rows: 0,
      tableRows: 0,
      startedAt: Date.now(),
      finishedAt: null,
    };
    writeSnapshotState(db, state);
    db.exec('COMMIT');
    return { state, resumed: false };
  } catch (cause) {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (isBusy(cause)) throw lockedError(db.name, cause);
    throw cause;
  }
}

function resolveTable(name: string, captured: string[]): string {
  const match = captured.find((t) => t.toLowerCase() === name.toLowerCase());
  if (match === undefined) throw new AuditeError('UNKNOWN_TABLE', `table ${JSON.stringify(name)} is not captured; capture it with \`audite enable\` first`);
  return match;
}

/** The snapshot's consistency rests on current triggers: a stale one would capture later changes incompletely. */
function assertCurrent(tables: string[], captured: string[], stale: string[]): void {
  for (const table of tables) {
    if (!captured.some((t) => t.toLowerCase() === table.toLowerCase())) {
      throw new AuditeError('UNKNOWN_TABLE', `table ${JSON.stringify(table)} is no longer captured; run \`audite snapshot --restart\``);
    }
    if (stale.some((t) => t.toLowerCase() === table.toLowerCase())) {
      throw new AuditeError('NOT_ENABLED', `capture triggers on ${JSON.stringify(table)} are stale; run \`audite enable\` first, then the snapshot`);
    }
  }
}

function sameTables(a: string[], b: string[]): boolean {
  const norm = (list: string[]): string => [...new Set(list.map((t) => t.toLowerCase()))].sort().join('\n');
  return norm(a) === norm(b);
}
