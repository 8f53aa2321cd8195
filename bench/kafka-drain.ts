// Relay → Kafka throughput, memory and latency against a real broker (issue 4), next to
// Kafka's own ProducerPerformance in the same run, with the same record size, acks and broker.
//   node bench/kafka-drain.ts        N=1,000,000; BENCH_EVENTS=200000 for a quick run;
//                                    BENCH_PROFILE=1 also writes a CPU profile of the relay and summarises it.
// The broker is scripts/kafka/kafka.sh's (AUDITE_KAFKA_PORT / AUDITE_KAFKA_VERSION apply); one
// that was not running is started, and stopped at the end. The relay runs as the production
// entry (bin/audite.js → dist/, heap bounds of its shebang): `npm run build` first.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import kafkajs from 'kafkajs';
import { enable } from '../src/capture/enable.ts';
import { createEventBuilder } from '../src/events/cloudevent-builder.ts';
import { kafkaBinary } from '../src/events/kafka-binding.ts';
import { PRODUCER_CONFIG } from '../src/sinks/kafka-client-config.ts';
import { SqliteChangeSource } from '../src/source/sqlite-source.ts';
import type { SqliteDatabase } from '../src/sqlite/sqlite-database.ts';
import { broker, endOffsets, PARTITIONS, producerPerformance } from './support/kafka.ts';
import { percentile, REPO, startAudite, startNode, sqliteCursor, stop, watchDrain } from './support/processes.ts';

const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const MAX_BATCH_BYTES = Number(process.env.BENCH_MAX_BATCH_BYTES ?? 1_000_000);
const ROWS = 10_000;
const LATENCY_SECONDS = 10;

const DDL = 'CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT, email TEXT, plan TEXT, city TEXT, balance INTEGER, note TEXT, ts INTEGER)';

/** An enabled database whose feed holds `n` events (~200-byte data) over 10,000 rows, written straight into the feed. */
export function backlog(file: string, n: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(DDL);
  enable(db as unknown as SqliteDatabase);
  db.prepare(
    `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < :n)
     INSERT INTO audite_changefeed (id, source, subject, type, time, specversion, data, context)
     SELECT i, 'customer', CAST(i % :rows + 1 AS TEXT), CASE WHEN i <= :rows THEN 'customer.created' ELSE 'customer.updated' END, 1700000000 + i / 100, '1.0',
       json_object('new', json_object('id', i % :rows + 1, 'name', 'Customer ' || (i % :rows + 1), 'email', 'customer' || (i % :rows + 1) || '@example.com',
         'plan', 'pro', 'city', 'Amsterdam', 'balance', i * 7, 'note', 'a short note about this customer', 'ts', 1700000000000 + i),
         'old', CASE WHEN i <= :rows THEN NULL ELSE json_object('balance', (i - :rows) * 7) END),
       json_object('actor', 'user-' || (i % 50))
     FROM seq`,
  ).run({ n: BigInt(n), rows: BigInt(ROWS) });
  db.close();
}

/** Average bytes of one record as the sink sends it (key + value + header names and values). */
export function recordSize(file: string): Promise<number> {
  const db = new Database(file, { readonly: true });
  return new SqliteChangeSource(db as unknown as SqliteDatabase, { pollIntervalMs: 5 }).read(ROWS, 1000).then((rows) => {
    db.close();
    const records = rows.map(createEventBuilder()).map(kafkaBinary);
    let bytes = 0;
    for (const r of records) {
      bytes += Buffer.byteLength(r.key) + Buffer.byteLength(r.value ?? '');
      for (const [name, value] of Object.entries(r.headers)) bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    }
    return Math.round(bytes / records.length);
  });
}

/**
 * kafkajs on its own, no relay: the backlog's first `count` events, already
 * built as binary-mode records, sent as the sink sends them (sendBatch of a
 * batch, idempotent, acks -1, awaited in turn). The ceiling of any kafkajs sink.
 */
async function kafkajsAlone(file: string, count: number, brokers: string[], topic: string): Promise<number> {
  const db = new Database(file, { readonly: true });
  const records = (await new SqliteChangeSource(db as unknown as SqliteDatabase, { pollIntervalMs: 5 }).read(0, count))
    .map(createEventBuilder())
    .map(kafkaBinary);
  db.close();
  const client = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const producer = client.producer(PRODUCER_CONFIG);
  await producer.connect();
  const started = performance.now();
  for (let i = 0; i < records.length; i += BATCH) await producer.sendBatch({ topicMessages: [{ topic, messages: records.slice(i, i + BATCH) }], acks: -1 });
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return records.length / seconds;
}

type Mode = 'binary' | 'structured';

export function configFile(
  dir: string,
  name: string,
  database: string,
  brokers: string[],
  topic: string,
  extra: Record<string, unknown> = {},
  mode: Mode = 'binary',
): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ database, source: { batchSize: BATCH }, log: { level: 'warn' }, sinks: [sinkConfig(brokers, topic, mode)], ...extra }));
  return file;
}

function sinkConfig(brokers: string[], topic: string, mode: Mode): Record<string, unknown> {
  return { type: 'kafka', name: `kafka-${mode}`, mode, brokers, topic, createTopics: { partitions: PARTITIONS }, maxBatchBytes: MAX_BATCH_BYTES };
}

/**
 * `audite run` as a child until its cursor reaches the head; times the drain from the first checkpoint on.
 * `stockKafkajs`: the relay loads that unpatched copy of kafkajs instead (see stockKafkajs()).
 */
async function drain(
  dir: string,
  file: string,
  n: number,
  brokers: string[],
  topic: string,
  mode: Mode,
  options: { profileDir?: string; stockKafkajs?: string } = {},
) {
  const consumer = `kafka-${mode}${options.stockKafkajs === undefined ? '' : '-stock'}`;
  const config = configFile(dir, consumer, file, brokers, topic, { sinks: [{ ...sinkConfig(brokers, topic, mode), name: consumer }] }, mode);
  const nodeOptions: string[] = [];
  if (options.profileDir !== undefined) nodeOptions.push(`--cpu-prof --cpu-prof-dir=${options.profileDir}`);
  if (options.stockKafkajs !== undefined) {
    nodeOptions.push(`--import=${join(REPO, 'bench', 'support', 'stock-kafkajs.ts')}`);
    process.env.AUDITE_BENCH_KAFKAJS = options.stockKafkajs;
  }
  if (nodeOptions.length > 0) process.env.NODE_OPTIONS = nodeOptions.join(' ');
  const child = startAudite(['run', '--config', config]);
  delete process.env.NODE_OPTIONS;
  delete process.env.AUDITE_BENCH_KAFKAJS;
  const drained = await watchDrain(child, sqliteCursor(file, consumer), n);
  return { ...drained, stored: await endOffsets(brokers, topic) };
}

/** A copy of node_modules/kafkajs with patches/ reverted, as published; returns its entry file. */
function stockKafkajs(dir: string): string {
  const copy = join(dir, 'stock', 'kafkajs');
  cpSync(join(REPO, 'node_modules', 'kafkajs'), copy, { recursive: true });
  const patch = readFileSync(join(REPO, 'patches', 'kafkajs+2.2.4.patch'));
  // -p3 strips a/node_modules/kafkajs/ from the patch's paths.
  execFileSync('patch', ['-R', '-p3', '-s', '-d', copy], { input: patch });
  return join(copy, 'index.js');
}

// The app: 1,000 autocommitted inserts per second for `seconds`, each stamped with Date.now(), in its own process.
const WRITER = `
  import Database from 'better-sqlite3';
  import { setTimeout as sleep } from 'node:timers/promises';
  const [file, seconds] = process.argv.slice(1);
  const db = new Database(file);
  db.pragma('busy_timeout = 5000');
  const insert = db.prepare("INSERT INTO customer (name, email, plan, city, balance, note, ts) VALUES ('n', 'e@example.com', 'pro', 'Amsterdam', ?, 'a short note about this customer', ?)");
  const start = Date.now();
  let written = 0;
  while (Date.now() - start < Number(seconds) * 1000) {
    while (written < Date.now() - start) insert.run(written++, Date.now());
    await sleep(1);
  }
  db.close();`;

/**
 * Commit → acknowledged: a poller notes when the relay's cursor (moved right
 * after Kafka acknowledged the batch) passes each event; commit → consumed: a
 * kafkajs consumer notes when each event arrives (Kafka serves a record only
 * once the in-sync replicas have it). Both against the time the writer stamped
 * into the row just before its commit.
 */
async function latency(dir: string, brokers: string[], topic: string) {
  const file = join(dir, 'latency.db');
  backlog(file, 0);
  const client = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING });
  const admin = client.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }], waitForLeaders: true });
  await admin.disconnect();
  const consumed: number[] = [];
  const consumer = client.consumer({ groupId: `bench-${topic}`, maxWaitTimeInMs: 50 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => void consumed.push(Date.now() - (JSON.parse(String(message.value)) as { new: { ts: number } }).new.ts),
  });
  const child = startAudite(['run', '--config', configFile(dir, 'latency', file, brokers, topic, { source: { batchSize: 500, pollIntervalMs: 1 } })]);
  await sleep(2000); // let the relay start and connect
  const reader = new Database(file, { readonly: true });
  const cursor = reader.prepare("SELECT position FROM audite_cursor WHERE consumer = 'kafka-binary'").pluck();
  const moves: { at: number; position: number }[] = [];
  const poll = setInterval(() => {
    const position = (cursor.get() as number | undefined) ?? 0;
    if (position !== moves.at(-1)?.position) moves.push({ at: Date.now(), position });
  }, 1);
  const writer = startNode(['--input-type=module', '-e', WRITER, file, String(LATENCY_SECONDS)]);
  await new Promise((resolve) => writer.once('exit', resolve));
  await sleep(1000);
  clearInterval(poll);
  await stop(child);
  await consumer.disconnect();
  const rows = reader.prepare("SELECT id, data ->> '$.new.ts' AS ts FROM audite_changefeed ORDER BY id").all() as { id: number; ts: number }[];
  reader.close();
  const acked: number[] = [];
  let m = 0;
  for (const { id, ts } of rows) {
    while (m < moves.length && (moves[m] as { position: number }).position < id) m++;
    if (m < moves.length) acked.push((moves[m] as { at: number }).at - ts);
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length };
  };
  return { consumed: stats(consumed), acked: stats(acked), written: rows.length };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time of the relay by package and the top functions, from the .cpuprofile written at its exit. */
function summariseProfile(dir: string): string {
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (name === undefined) return '(no profile written)';
  const profile = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const area = ({ url, functionName }: ProfileNode['callFrame']): string => {
    if (url === '') return functionName === '(garbage collector)' ? 'GC' : functionName === '(idle)' ? 'idle' : 'native/other';
    if (url.includes('node_modules/')) return /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? 'deps';
    if (url.startsWith('node:')) return 'node core';
    return url.includes('/dist/') ? 'audite' : 'other';
  };
  const byArea = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of selfUs) {
    const frame = (nodes.get(id) as ProfileNode).callFrame;
    const where = area(frame);
    if (where === 'idle') continue;
    busy += us;
    byArea.set(where, (byArea.get(where) ?? 0) + us);
    const fn = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, 'dist/')}:${frame.lineNumber + 1}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1)} %`;
  const top = <K>(m: Map<K, number>, k: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, k);
  return [
    `| where | share of busy CPU (${(busy / 1e6).toFixed(1)} s) |`,
    '| --- | --- |',
    ...top(byArea, 8).map(([k, us]) => `| ${k} | ${pct(us)} |`),
    '',
    '| top functions (self) | share |',
    '| --- | --- |',
    ...top(byFunction, 12).map(([k, us]) => `| \`${k}\` | ${pct(us)} |`),
  ].join('\n');
}

export async function runKafkaBench(): Promise<string> {
  if (!existsSync(join(REPO, 'dist', 'sinks', 'kafka-sink.js'))) throw new Error('dist/ has no Kafka sink: run `npm run build` first');
  const n = Number(process.env.BENCH_EVENTS ?? 1_000_000);
  const profile = process.env.BENCH_PROFILE === '1';
  const dir = mkdtempSync(join(tmpdir(), 'audite-bench-kafka-'));
  const kafka = await broker();
  const id = Date.now().toString(36);
  try {
    if (process.env.BENCH_ONLY === 'latency') {
      const lat = await latency(dir, kafka.brokers, `bench-latency-${id}`);
      return `latency at 1,000 writes/s: acked p50 ${lat.acked.p50} ms, p99 ${lat.acked.p99} ms; consumed p50 ${lat.consumed.p50} ms, p99 ${lat.consumed.p99} ms (${lat.written} events)`;
    }
    // Latency first, on a quiet broker: after the drains it is still digesting millions of records
    // (p99 43 ms measured there, against 8-10 ms on its own), which is not the steady state asked for.
    const lat = process.env.BENCH_ONLY === 'drain' ? undefined : await latency(dir, kafka.brokers, `bench-latency-${id}`);
    backlog(join(dir, 'big.db'), n);
    const size = await recordSize(join(dir, 'big.db'));
    const ours = await drain(dir, join(dir, 'big.db'), n, kafka.brokers, `bench-audite-${id}`, 'binary', profile ? { profileDir: join(dir, 'prof') } : {});
    if (lat === undefined)
      return `drain: ${Math.round(ours.eventsPerSecond)} events/s, peak ${ours.peakMb.toFixed(0)} MB\n${profile ? summariseProfile(join(dir, 'prof')) : ''}`;
    const java = await producerPerformance(n, size, kafka.brokers, `bench-perf-${id}`);
    const stock = await drain(dir, join(dir, 'big.db'), n, kafka.brokers, `bench-audite-stock-${id}`, 'binary', { stockKafkajs: stockKafkajs(dir) });
    const structured = await drain(dir, join(dir, 'big.db'), n, kafka.brokers, `bench-audite-structured-${id}`, 'structured');
    const alone = await kafkajsAlone(join(dir, 'big.db'), Math.min(n, 200_000), kafka.brokers, `bench-kafkajs-${id}`);
    const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
    const lines = [
      `### Relay → Kafka ${kafka.version} (kafkajs 2.2.4, binary mode, acks=all, idempotent, ${PARTITIONS} partitions, ${BATCH} events per batch), ${fmt(n)}-event backlog`,
      '',
      '| measure | value |',
      '| --- | --- |',
      `| audite drain | ${fmt(ours.eventsPerSecond)} events/s (${ours.seconds.toFixed(1)} s; ${fmt(ours.stored)} records in the topic) |`,
      `| Kafka's ProducerPerformance, ${size}-byte records (our average key + value + headers), acks=all, same broker | ${fmt(java.recordsPerSecond)} records/s |`,
      `| **ratio audite / ProducerPerformance** (target ≥ 0.5) | **${(ours.eventsPerSecond / java.recordsPerSecond).toFixed(2)}** |`,
      `| peak RSS of the relay process (target ≤ 150 MB) | ${ours.peakMb.toFixed(0)} MB |`,
      `| for comparison: audite drain with kafkajs as published (patches/ reverted) | ${fmt(stock.eventsPerSecond)} events/s, ratio ${(stock.eventsPerSecond / java.recordsPerSecond).toFixed(2)}, peak RSS ${stock.peakMb.toFixed(0)} MB; **patched / published ${(ours.eventsPerSecond / stock.eventsPerSecond).toFixed(2)}** |`,
      `| for comparison: audite drain in structured mode (1 header instead of 10) | ${fmt(structured.eventsPerSecond)} events/s, ratio ${(structured.eventsPerSecond / java.recordsPerSecond).toFixed(2)}, peak RSS ${structured.peakMb.toFixed(0)} MB |`,
      `| for comparison: kafkajs alone, no relay (same binary records and batches, idempotent, acks -1) | ${fmt(alone)} records/s, ratio ${(alone / java.recordsPerSecond).toFixed(2)} |`,
      `| commit → acknowledged (cursor moved after Kafka's ack) at 1,000 writes/s, p50 / p99 (${fmt(lat.acked.samples)} events) | ${lat.acked.p50} ms / ${lat.acked.p99} ms |`,
      `| commit → received by a consumer at 1,000 writes/s, p50 / p99 (${fmt(lat.consumed.samples)} of ${fmt(lat.written)} events) | ${lat.consumed.p50} ms / ${lat.consumed.p99} ms |`,
      '',
      `ProducerPerformance: \`${java.line}\``,
      '',
    ];
    if (profile) lines.push('CPU profile of the relay during the drain (self time):', '', summariseProfile(join(dir, 'prof')), '');
    return lines.join('\n');
  } finally {
    await kafka.stop?.();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) console.log(await runKafkaBench());
