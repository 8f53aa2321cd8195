// Capture write overhead: the same writes with and without capture triggers,
// side by side in one run. Variants are interleaved and every cell gets a fresh
// database file, so machine noise hits all variants alike; the median of the
// rounds is reported. Run standalone: `node bench/capture-overhead.ts`.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { enable } from '../src/capture/enable.ts';
import type { SqliteDatabase } from '../src/sqlite/sqlite-database.ts';
import { CellSamples, overheadTable } from './support/overhead-table.ts';

const TABLE_DDL = 'CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL, balance REAL, visits INTEGER, token BLOB)';
const COLUMNS = ['id', 'email', 'balance', 'visits', 'token'];

interface Variant {
  name: string;
  install: (db: Database.Database) => void;
}

const asDb = (db: Database.Database): SqliteDatabase => db as unknown as SqliteDatabase;

/** Python audite's own design: AUTOINCREMENT, both indexes, CASE per column, no context, columns in pk order. */
function installPythonAudite(db: Database.Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS "audite_changefeed" (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, subject TEXT NOT NULL, type TEXT NOT NULL,
    time INTEGER NOT NULL DEFAULT (strftime('%s')), specversion TEXT NOT NULL, data JSON)`);
  const ordered = [...COLUMNS.slice(1), 'id']; // SELECT … FROM pragma_table_info ORDER BY pk
  const obj = (ref: string): string =>
    `json_object(${ordered.map((c) => `'${c}', CASE WHEN typeof(${ref}."${c}") = 'blob' THEN hex(${ref}."${c}") ELSE ${ref}."${c}" END`).join(', ')})`;
  const data = {
    INSERT: `json_object('new', ${obj('NEW')})`,
    UPDATE: `json_object('new', ${obj('NEW')}, 'old', ${obj('OLD')})`,
    DELETE: `json_object('old', ${obj('OLD')})`,
  };
  for (const event of ['INSERT', 'UPDATE', 'DELETE'] as const) {
    const ref = event === 'DELETE' ? 'OLD' : 'NEW';
    const type = { INSERT: 'created', UPDATE: 'updated', DELETE: 'deleted' }[event];
    db.exec(`CREATE TRIGGER "audite_audit_customer_${event.toLowerCase()}_trigger" AFTER ${event} ON "customer" BEGIN
      INSERT INTO "audite_changefeed" ("source", "subject", "type", "specversion", "data")
      VALUES ('customer', ${ref}.id, 'customer.${type}', '1.0', ${data[event]}); END`);
  }
  db.exec(`CREATE INDEX IF NOT EXISTS "audite_changefeed_source_subject_id_idx" ON "audite_changefeed" (source, subject, id);
    CREATE INDEX IF NOT EXISTS "audite_changefeed_time_id_idx" ON "audite_changefeed" (time, id)`);
}

/**
 * The floor of any trigger-based capture: each write's trigger inserts one constant row into a
 * feed-shaped table (no JSON, no time, no context, no REPLACE handling). What it costs is what a
 * second table written in the same transaction costs: its b-tree insert and, per commit, its page.
 */
function installConstantRowFloor(db: Database.Database): void {
  db.exec(`CREATE TABLE "floor_feed" (id INTEGER PRIMARY KEY, source TEXT NOT NULL, subject TEXT NOT NULL, type TEXT NOT NULL,
    time INTEGER NOT NULL DEFAULT 0, specversion TEXT NOT NULL, data JSON, context JSON)`);
  for (const event of ['INSERT', 'UPDATE', 'DELETE']) {
    db.exec(`CREATE TRIGGER "floor_${event.toLowerCase()}" AFTER ${event} ON "customer" BEGIN
      INSERT INTO "floor_feed" (source, subject, type, specversion) VALUES ('customer', '1', 'customer.x', '1.0'); END`);
  }
}

const VARIANTS: Variant[] = [
  { name: 'no triggers', install: () => {} },
  { name: 'audite (default)', install: (db) => void enable(asDb(db), { wal: false }) },
  { name: '--history-indexes', install: (db) => void enable(asDb(db), { wal: false, historyIndexes: true }) },
  { name: '--autoincrement', install: (db) => void enable(asDb(db), { wal: false, autoincrement: true }) },
  { name: 'Python audite triggers', install: installPythonAudite },
  { name: 'floor: a constant row per write', install: installConstantRowFloor },
];

interface Row {
  email: string;
  balance: number;
  visits: number;
  token: Buffer;
}

function makeRows(n: number): Row[] {
  return Array.from({ length: n }, (_, i) => ({
    email: `customer.${i}.${randomBytes(3).toString('hex')}@example.com`,
    balance: Math.round(Math.random() * 1_000_000) / 100,
    visits: Math.floor(Math.random() * 500),
    token: randomBytes(16),
  }));
}

interface Workload {
  name: string;
  /** Rows present before the timed part. */
  preload: number;
  /** Operations timed. */
  ops: number;
  run: (db: Database.Database, rows: Row[]) => void;
}

const BULK = 20_000;
const SINGLE = 2_000;
const BATCH = 1_000;

function inBatches(db: Database.Database, n: number, fn: (i: number) => void): void {
  const batch = db.transaction((from: number) => {
    for (let i = from; i < Math.min(from + BATCH, n); i += 1) fn(i);
  });
  for (let from = 0; from < n; from += BATCH) batch(from);
}

const insertSql = 'INSERT INTO customer (email, balance, visits, token) VALUES (?, ?, ?, ?)';
const updateSql = 'UPDATE customer SET balance = ?, visits = visits + 1 WHERE id = ?';
const deleteSql = 'DELETE FROM customer WHERE id = ?';

const WORKLOADS: Workload[] = [
  {
    name: `bulk insert (${BATCH} rows per transaction)`,
    preload: 0,
    ops: BULK,
    run: (db, rows) => {
      const st = db.prepare(insertSql);
      inBatches(db, BULK, (i) => void st.run(rows[i]!.email, rows[i]!.balance, rows[i]!.visits, rows[i]!.token));
    },
  },
  {
    name: 'single-row insert (autocommit)',
    preload: 0,
    ops: SINGLE,
    run: (db, rows) => {
      const st = db.prepare(insertSql);
      for (let i = 0; i < SINGLE; i += 1) st.run(rows[i]!.email, rows[i]!.balance, rows[i]!.visits, rows[i]!.token);
    },
  },
  {
    name: `bulk update (${BATCH} rows per transaction)`,
    preload: BULK,
    ops: BULK,
    run: (db, rows) => {
      const st = db.prepare(updateSql);
      inBatches(db, BULK, (i) => void st.run(rows[i]!.balance + 1, i + 1));
    },
  },
  {
    name: 'single-row update (autocommit)',
    preload: SINGLE,
    ops: SINGLE,
    run: (db, rows) => {
      const st = db.prepare(updateSql);
      for (let i = 0; i < SINGLE; i += 1) st.run(rows[i]!.balance + 1, i + 1);
    },
  },
  {
    name: `bulk delete (${BATCH} rows per transaction)`,
    preload: BULK,
    ops: BULK,
    run: (db) => {
      const st = db.prepare(deleteSql);
      inBatches(db, BULK, (i) => void st.run(i + 1));
    },
  },
  {
    name: 'single-row delete (autocommit)',
    preload: SINGLE,
    ops: SINGLE,
    run: (db) => {
      const st = db.prepare(deleteSql);
      for (let i = 0; i < SINGLE; i += 1) st.run(i + 1);
    },
  },
];

/** One cell: a fresh file, the variant's triggers, the preload, then the timed writes. µs per operation. */
function measure(dir: string, cell: string, variant: Variant, workload: Workload, rows: Row[]): number {
  const file = join(dir, `${cell}.db`);
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(TABLE_DDL);
    // Preload before the triggers: the timed part starts from the same table for every variant.
    if (workload.preload > 0) {
      const st = db.prepare(insertSql);
      inBatches(db, workload.preload, (i) => void st.run(rows[i]!.email, rows[i]!.balance, rows[i]!.visits, rows[i]!.token));
    }
    variant.install(db);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const start = process.hrtime.bigint();
    workload.run(db, rows);
    const elapsed = Number(process.hrtime.bigint() - start) / 1000;
    return elapsed / workload.ops;
  } finally {
    db.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  }
}

export async function runCaptureBench(options: { rounds?: number } = {}): Promise<string> {
  const rounds = options.rounds ?? 7;
  const dir = mkdtempSync(join(tmpdir(), 'audite-capture-bench-'));
  const started = Date.now();
  try {
    const rows = makeRows(BULK);
    const results = new CellSamples();
    let cell = 0;
    for (let round = 0; round < rounds; round += 1) {
      for (const workload of WORKLOADS) {
        // Rotate the variant order each round so no variant always runs first (cold) or last.
        const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
        for (const variant of order) {
          results.add(workload.name, variant.name, measure(dir, `cell-${(cell += 1)}`, variant, workload, rows));
        }
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const sqlite = (new Database(':memory:').prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
    const lines = overheadTable(WORKLOADS, VARIANTS, results);
    return [
      `Capture write overhead: table \`customer\` (id INTEGER PRIMARY KEY, email TEXT, balance REAL, visits INTEGER, token BLOB(16)), WAL, synchronous=NORMAL, better-sqlite3 (SQLite ${sqlite}), Node ${process.versions.node}.`,
      `µs per row written (ratio to no triggers); median of ${rounds} interleaved rounds, a fresh database file per cell; bulk = ${BULK.toLocaleString('en-US')} rows, single-row = ${SINGLE.toLocaleString('en-US')} autocommit statements; ${seconds} s in all.`,
      '',
      ...lines,
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await runCaptureBench());
}
