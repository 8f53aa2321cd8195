// Fault test: the broker goes away for 30 s in the middle of a stream under steady writes from another process.
// It runs its own broker (port + 100) so that stopping it cannot disturb Kafka tests running in parallel.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startKafka, stopKafka, type KafkaBroker } from '../support/kafka-broker.ts';
import { appDatabase, cursorOf, waitFor } from '../support/relay.ts';
import { tempDir } from '../support/temp.ts';
import { checkDeliveries, exited, spawnDaemon, spawnWriter, WRITER_DDL } from './processes.ts';
import { kafkaBroker, readTopics, uniqueTopic } from './support.ts';

const OUTAGE_MS = 30_000;
const port = Number(process.env.AUDITE_KAFKA_PORT ?? 19092) + 100;
let broker: KafkaBroker;

beforeAll(async () => {
  broker = await kafkaBroker({ port });
});
afterAll(async () => {
  await stopKafka({ port });
});

test(`broker down for ${OUTAGE_MS / 1000} s under steady writes: nothing lost, per-key order kept, the daemon recovers by itself`, async () => {
  const { file, app } = appDatabase(WRITER_DDL);
  const topic = uniqueTopic('audite-outage');
  const head = app.prepare('SELECT coalesce(max(id), 0) FROM audite_changefeed').pluck();
  const config = {
    database: file,
    source: { batchSize: 50, pollIntervalMs: 2 },
    log: { level: 'info', pretty: 'never' },
    sinks: [{ type: 'kafka', name: 'kafka', brokers: broker.brokers, topic, createTopics: { partitions: 3 }, retry: { minDelayMs: 100, maxDelayMs: 2000 } }],
  };
  const writer = spawnWriter(file, 5);
  const daemon = spawnDaemon(join(tempDir(), 'audite.json'), config);
  try {
    await waitFor(() => (cursorOf(app, 'kafka') ?? 0) > 100, 30_000, 'the stream to flow');

    await stopKafka({ port });
    const stoppedAt = Date.now();
    await sleep(3000);
    const stalled = cursorOf(app, 'kafka') ?? 0;
    await sleep(OUTAGE_MS - (Date.now() - stoppedAt));
    // Nothing was acknowledged while the broker was away, but the writes went on.
    expect(cursorOf(app, 'kafka')).toBe(stalled);
    expect(head.get() as number).toBeGreaterThan(stalled + 1000);
    expect(daemon.stderr()).toContain('Kafka delivery failed, retrying');

    await startKafka({ port });
    // The same daemon process catches up while the writes continue.
    await waitFor(() => (cursorOf(app, 'kafka') ?? 0) > (head.get() as number) - 200, 60_000, 'the daemon to catch up');
    expect(daemon.process.exitCode).toBeNull();
  } finally {
    writer.process.kill('SIGTERM');
    await exited(writer.process);
  }
  const last = head.get() as number;
  await waitFor(() => cursorOf(app, 'kafka') === last, 30_000, 'final drain');
  daemon.process.kill('SIGTERM');
  await exited(daemon.process);
  expect(daemon.process.exitCode).toBe(0);
  expect(daemon.stderr()).toContain('Kafka sink delivering again');

  const feedIds = app.prepare('SELECT id FROM audite_changefeed ORDER BY id').pluck().all() as number[];
  const records = await readTopics(broker.brokers, [topic], feedIds.length, { timeoutMs: 60_000, settleMs: 1000 });
  const check = checkDeliveries(feedIds, records);
  expect(check.missing).toEqual([]);
  expect(check.outOfOrder).toEqual([]);
  console.log(`outage test: ${feedIds.length} events, ${check.duplicates} redelivered`);
}, 180_000);
