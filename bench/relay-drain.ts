// Relay throughput, memory and latency against a local HTTP receiver (issue 3).
//   node bench/relay-drain.ts            (N=1,000,000; BENCH_EVENTS=200000 for a quick run)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { enable } from '../src/capture/enable.ts';
import { createEventBuilder } from '../src/events/cloudevent-builder.ts';
import { batch } from '../src/events/http-binding.ts';
import { SqliteChangeSource } from '../src/source/sqlite-source.ts';
import type { SqliteDatabase } from '../src/sqlite/sqlite-database.ts';
// The relay runs as the production entry (bin/audite.js → compiled dist/), as `npx audite` does.
import { percentile, startAudite, startReceiver, sqliteCursor, stop, watchDrain } from './support/processes.ts';

const BATCH = 1000;

function backlog(file: string, n: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, email TEXT, balance INTEGER, note TEXT, ts INTEGER)');
  enable(db as unknown as SqliteDatabase);
  const insert = db.prepare('INSERT INTO customer (name, email, balance, note, ts) VALUES (?, ?, ?, ?, ?)');
  const fill = db.transaction((from: number, count: number) => {
    for (let i = from; i < from + count; i++) insert.run(`Customer ${i}`, `customer${i}@example.com`, i * 7, 'a short note about this customer', Date.now());
  });
  for (let i = 0; i < n; i += 10_000) fill(i, Math.min(10_000, n - i));
  db.close();
}

/** Runs `audite run` as a child until its cursor reaches the head; times the drain from the first checkpoint on. */
async function drain(file: string, n: number, url: string): Promise<{ eventsPerSecond: number; seconds: number; peakMb: number }> {
  const child = startAudite(['run', file, '--http-url', url, '--http-mode', 'batch', '--batch-size', String(BATCH), '--log-level', 'warn']);
  return watchDrain(child, sqliteCursor(file, 'http'), n);
}

/** The same bodies, posted by autocannon over one connection, as the relay uses. */
async function bareClient(file: string, n: number, url: string): Promise<number> {
  const db = new Database(file, { readonly: true });
  const events = (await new SqliteChangeSource(db as unknown as SqliteDatabase, { pollIntervalMs: 5 }).read(0, BATCH)).map(createEventBuilder());
  db.close();
  const message = batch(events);
  const started = performance.now();
  // autocannon reports whole seconds; time it ourselves.
  const result = await autocannon({ url, method: 'POST', headers: message.headers, body: message.body, connections: 1, amount: Math.ceil(n / BATCH) });
  return (result['2xx'] * BATCH) / ((performance.now() - started) / 1000);
}

async function latency(dir: string, seconds: number): Promise<{ p50: number; p99: number; samples: number }> {
  const file = join(dir, 'latency.db');
  backlog(file, 0);
  const receiver = await startReceiver({ LATENCY: '1' });
  const child = startAudite(['run', file, '--http-url', receiver.url, '--http-mode', 'batch', '--log-level', 'warn', '--start-from', 'beginning']);
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  const insert = db.prepare('INSERT INTO customer (name, email, balance, note, ts) VALUES (?, ?, ?, ?, ?)');
  await sleep(1500); // let the relay start
  const start = Date.now();
  let written = 0;
  while (Date.now() - start < seconds * 1000) {
    const due = Math.floor((Date.now() - start) * 1); // 1 write per ms = 1,000 writes/s
    while (written < due) insert.run('n', 'e', written++, 'x', Date.now());
    await sleep(1);
  }
  await sleep(500);
  const { latencies } = await receiver.stats();
  await stop(child);
  await stop(receiver.child);
  db.close();
  if (process.env.BENCH_DEBUG) {
    const slow = latencies.map((l, i) => [i, l]).filter(([, l]) => (l as number) > 25);
    const runs: string[] = [];
    for (const [i, l] of slow) {
      const last = runs.at(-1);
      if (last && Number(last.split('-')[1]?.split(':')[0]) === (i as number) - 1) runs[runs.length - 1] = `${last.split('-')[0]}-${i}:${l}`;
      else runs.push(`${i}-${i}:${l}`);
    }
    console.error(`slow: ${slow.length}; runs ${runs.join(' ')}`);
  }
  const sorted = latencies.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };
}

export async function runRelayBench(): Promise<string> {
  const n = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  if (process.env.BENCH_ONLY === 'latency') {
    const dir = mkdtempSync(join(tmpdir(), 'audite-bench-relay-'));
    const lat = await latency(dir, 10).finally(() => rmSync(dir, { recursive: true, force: true }));
    return `latency at 1,000 writes/s: p50 ${lat.p50} ms, p99 ${lat.p99} ms (${lat.samples} events)`;
  }
  const small = Math.max(1, Math.floor(n / 10));
  const dir = mkdtempSync(join(tmpdir(), 'audite-bench-relay-'));
  try {
    backlog(join(dir, 'big.db'), n);
    backlog(join(dir, 'small.db'), small);
    const receiver = await startReceiver();
    const big = await drain(join(dir, 'big.db'), n, receiver.url);
    const baseline = await bareClient(join(dir, 'big.db'), n, receiver.url);
    const smallRun = await drain(join(dir, 'small.db'), small, receiver.url);
    await stop(receiver.child);
    const lat = await latency(dir, 10);
    const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
    return [
      `### Relay → HTTP (batch mode, ${BATCH} events per request), ${fmt(n)}-event backlog`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| audite drain | ${fmt(big.eventsPerSecond)} events/s (${big.seconds.toFixed(1)} s) |`,
      `| bare client (autocannon, same bodies, same receiver, 1 connection) | ${fmt(baseline)} events/s |`,
      `| **ratio audite / bare client** | **${(big.eventsPerSecond / baseline).toFixed(2)}** |`,
      `| peak RSS of the relay process, ${fmt(n)} backlog | ${big.peakMb.toFixed(0)} MB |`,
      `| peak RSS of the relay process, ${fmt(small)} backlog | ${smallRun.peakMb.toFixed(0)} MB |`,
      `| drain time ${fmt(n)} / ${fmt(small)} | ${(big.seconds / smallRun.seconds).toFixed(1)} (ideal 10) |`,
      `| commit-to-delivered latency at 1,000 writes/s, p50 / p99 (${fmt(lat.samples)} events) | ${lat.p50} ms / ${lat.p99} ms |`,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await runRelayBench());
