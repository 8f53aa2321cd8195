// Snapshot throughput, and the app's write latency while a snapshot runs (issue 6).
//   node bench/snapshot.ts             (1,000,000 rows; BENCH_ROWS=200000 for a quick run)
// The app is another process doing single-row inserts every 2 ms on its own
// connection (WAL, synchronous NORMAL, busy_timeout 10 s); each insert is timed.
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { enable } from '../src/capture/enable.ts';
import { snapshot, type SnapshotOptions } from '../src/capture/snapshot.ts';
import type { SqliteDatabase } from '../src/sqlite/sqlite-database.ts';
import { percentile, startNode, stop } from './support/processes.ts';

const WRITE_INTERVAL_MS = 2;
const BASELINE_SECONDS = 5;

function table(file: string, n: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, email TEXT, balance INTEGER, note TEXT, ts INTEGER)');
  const insert = db.prepare('INSERT INTO customer (name, email, balance, note, ts) VALUES (?, ?, ?, ?, ?)');
  const fill = db.transaction((from: number, count: number) => {
    for (let i = from; i < from + count; i++)
      insert.run(`Customer ${i}`, `customer${i}@example.com`, i * 7, 'a short note about this customer', 1_700_000_000 + i);
  });
  for (let i = 0; i < n; i += 10_000) fill(i, Math.min(10_000, n - i));
  // Rows first, capture after: exactly the situation a snapshot is for.
  enable(db as unknown as SqliteDatabase);
  db.close();
}

/** The app: another process timing each single-row insert until SIGTERM, then printing the latencies (ms). */
function writer(file: string): void {
  const db = new Database(file);
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 10000');
  const insert = db.prepare('INSERT INTO customer (name, email, balance, note, ts) VALUES (?, ?, ?, ?, ?)');
  const latencies: number[] = [];
  let n = 0;
  const tick = (): void => {
    const started = performance.now();
    insert.run(`App ${n}`, `app${n}@example.com`, n, 'written by the app during the benchmark', Date.now());
    latencies.push(performance.now() - started);
    n += 1;
    timer = setTimeout(tick, WRITE_INTERVAL_MS);
  };
  let timer = setTimeout(tick, WRITE_INTERVAL_MS);
  process.on('SIGTERM', () => {
    clearTimeout(timer);
    db.close();
    process.stdout.write(`${JSON.stringify(latencies)}\n`, () => process.exit(0));
  });
  process.stdout.write('ready\n');
}

interface Run {
  label: string;
  seconds: number;
  rows: number;
  latencies: number[];
}

/** Runs `work` while the app writes; returns the app's insert latencies over exactly that span. */
async function whileAppWrites(file: string, work: () => Promise<number>): Promise<{ latencies: number[]; rows: number; seconds: number }> {
  const child = startNode([import.meta.filename, '--writer', file]);
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  while (!output.includes('ready')) await sleep(10);
  await sleep(200);
  const started = performance.now();
  const rows = await work();
  const seconds = (performance.now() - started) / 1000;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await stop(child);
  await exited;
  const latencies = JSON.parse(output.trim().split('\n').at(-1) ?? '[]') as number[];
  return { latencies, rows, seconds };
}

async function run(base: string, dir: string, label: string, options: SnapshotOptions | undefined): Promise<Run> {
  const file = join(dir, `${label.replace(/\W+/g, '-')}.db`);
  copyFileSync(base, file);
  const result = await whileAppWrites(file, async () => {
    if (options === undefined) {
      await sleep(BASELINE_SECONDS * 1000);
      return 0;
    }
    const db = new Database(file);
    db.pragma('busy_timeout = 10000');
    try {
      return (await snapshot(db as unknown as SqliteDatabase, options)).rows;
    } finally {
      db.close();
    }
  });
  rmSync(file, { force: true });
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  return { label, ...result };
}

export async function runSnapshotBench(): Promise<string> {
  const n = Number(process.env.BENCH_ROWS ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'audite-bench-snapshot-'));
  try {
    const base = join(dir, 'base.db');
    table(base, n);
    const runs = [
      await run(base, dir, 'no snapshot (baseline)', undefined),
      await run(base, dir, 'snapshot, defaults (1,000 rows/chunk, adaptive pause)', {}),
      await run(base, dir, 'snapshot, 1,000 rows/chunk, no pause', { pauseMs: 0 }),
      await run(base, dir, 'snapshot, 10,000 rows/chunk, no pause', { chunkSize: 10_000, pauseMs: 0 }),
    ];
    const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
    const ms = (x: number): string => (x < 10 ? x.toFixed(2) : x.toFixed(0));
    const lines = runs.map((r) => {
      const sorted = [...r.latencies].sort((a, b) => a - b);
      const rate = r.rows === 0 ? '–' : `${fmt(r.rows / r.seconds)} (${r.seconds.toFixed(1)} s)`;
      return `| ${r.label} | ${rate} | ${fmt(sorted.length)} | ${ms(percentile(sorted, 50))} | ${ms(percentile(sorted, 99))} | ${ms(sorted.at(-1) ?? 0)} |`;
    });
    return [
      `### Snapshot of a ${fmt(n)}-row table, with the app inserting a row every ${WRITE_INTERVAL_MS} ms from another process`,
      '',
      '| run | snapshot rows/s | app inserts timed | p50 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- | --- |',
      ...lines,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--writer') writer(process.argv[3] as string);
else if (import.meta.main) console.log(await runSnapshotBench());
