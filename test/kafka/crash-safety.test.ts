// The relay's kill -9 crash test (test/relay/crash-safety.test.ts) with the Kafka sink.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, expect, test } from 'vitest';
import type { KafkaBroker } from '../support/kafka-broker.ts';
import { appDatabase, cursorOf, waitFor } from '../support/relay.ts';
import { tempDir } from '../support/temp.ts';
import { checkDeliveries, exited, spawnDaemon, spawnWriter, WRITER_DDL } from './processes.ts';
import { kafkaBroker, readTopics, uniqueTopic } from './support.ts';

const KILLS = 20;
const BATCH = 20;

let broker: KafkaBroker;
beforeAll(async () => {
  broker = await kafkaBroker();
});

test(`kill -9 the daemon ${KILLS} times under writes from another process: nothing lost, per-key order kept, at most one batch redelivered per kill`, async () => {
  const { file, app } = appDatabase(WRITER_DDL);
  const topic = uniqueTopic('audite-crash');
  const dir = tempDir();
  const config = {
    database: file,
    source: { batchSize: BATCH, pollIntervalMs: 2 },
    log: { level: 'warn' },
    sinks: [{ type: 'kafka', name: 'kafka', brokers: broker.brokers, topic, createTopics: { partitions: 3 }, retry: { minDelayMs: 50, maxDelayMs: 500 } }],
  };
  const writer = spawnWriter(file, 1);
  try {
    for (let run = 0; run < KILLS; run++) {
      const before = cursorOf(app, 'kafka') ?? 0;
      const daemon = spawnDaemon(join(dir, `run-${run}.json`), config);
      try {
        // Kill mid-stream: once this run has had something acknowledged, at a random moment after.
        await waitFor(() => (cursorOf(app, 'kafka') ?? 0) > before, 30_000, `run ${run} to deliver`);
        await sleep(Math.floor(Math.random() * 150));
      } finally {
        // Also when the wait fails: a daemon must never outlive its test.
        daemon.process.kill('SIGKILL');
        await exited(daemon.process);
      }
    }
  } finally {
    writer.process.kill('SIGTERM');
    await exited(writer.process);
  }
  // A last, clean run drains the rest.
  const head = app.prepare('SELECT max(id) FROM audite_changefeed').pluck().get() as number;
  const final = spawnDaemon(join(dir, 'final.json'), config);
  try {
    await waitFor(() => cursorOf(app, 'kafka') === head, 60_000, 'final drain');
  } finally {
    final.process.kill('SIGTERM');
    await exited(final.process);
  }
  expect(final.process.exitCode).toBe(0);

  const feedIds = app.prepare('SELECT id FROM audite_changefeed ORDER BY id').pluck().all() as number[];
  const records = await readTopics(broker.brokers, [topic], feedIds.length, { timeoutMs: 60_000, settleMs: 1000 });
  const check = checkDeliveries(feedIds, records);
  expect(check.missing).toEqual([]);
  expect(check.outOfOrder).toEqual([]);
  // A kill loses at most the batch in flight (sent, not yet checkpointed): it is sent again.
  expect(check.duplicates).toBeLessThanOrEqual(KILLS * BATCH);
  expect(feedIds.length).toBeGreaterThan(100);
  console.log(`kafka crash test: ${feedIds.length} events, ${check.duplicates} redelivered over ${KILLS} kills`);
}, 180_000);
