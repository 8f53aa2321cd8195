// The PostgreSQL source through the Kafka sink, against the real broker and real capture
// triggers: the relay is the same whichever source feeds it.
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, expect, test } from 'vitest';
import { enablePostgres } from '../../src/capture/postgres/pg-enable.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import type { KafkaBroker } from '../support/kafka-broker.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';
import { runRelay, testConfig } from '../support/relay.ts';
import { kafkaBroker, readTopics, uniqueTopic } from './support.ts';

let broker: KafkaBroker;
beforeAll(async () => {
  broker = await kafkaBroker();
});

const BIG = '9007199254740993';

test('PostgreSQL → Kafka: every event in its table topic, keyed by row, per-row order, who/why as extensions, tombstones, 2^53+1 exact', async () => {
  const { url } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query('CREATE TABLE account (id integer PRIMARY KEY, name text, big bigint)');
  await app.query('CREATE TABLE invoice (id integer PRIMARY KEY, amount numeric(12, 2))');
  const admin = await connectPostgres(url);
  await enablePostgres(admin, { tables: ['account', 'invoice'] });
  await admin.end();

  await app.query('BEGIN');
  await app.query("SELECT set_config('audite.actor', 'alice', true)");
  await app.query(`INSERT INTO account SELECT i, 'Zoë ' || i, ${BIG} FROM generate_series(1, 6) AS i`);
  await app.query('INSERT INTO invoice SELECT i, i * 100.5 FROM generate_series(1, 4) AS i');
  await app.query('COMMIT');
  await app.query("UPDATE account SET name = name || ' (updated)' WHERE id <= 3");
  await app.query('DELETE FROM account WHERE id = 2');
  await app.query("UPDATE account SET name = 'last' WHERE id = 1");
  const { rows: feed } = await app.query<{ id: string; source: string; subject: string; type: string; data: unknown }>(
    'SELECT id, source, subject, type, data::text AS data FROM audite.changefeed ORDER BY id',
  );
  expect(feed).toHaveLength(6 + 4 + 3 + 1 + 1);

  const prefix = uniqueTopic('audite-pg');
  const relay = await runRelay(
    testConfig({
      database: url,
      sinks: [{ type: 'kafka', name: 'kafka', brokers: broker.brokers, topic: `${prefix}.{table}`, createTopics: { partitions: 3 }, tombstones: true }],
    }),
  );
  try {
    const head = feed.at(-1)?.id;
    for (let i = 0; i < 600; i++) {
      const { rows } = await app.query<{ position: string }>("SELECT position FROM audite.cursor WHERE consumer = 'kafka'");
      if (rows[0]?.position === head) break;
      await sleep(50);
    }
    const records = await readTopics(broker.brokers, [`${prefix}.account`, `${prefix}.invoice`], feed.length + 1);
    const events = records.filter((r) => r.value !== null);
    expect(events.map((r) => Number(r.headers.ce_id)).sort((a, b) => a - b)).toEqual(feed.map((r) => Number(r.id)));
    for (const row of feed) {
      const record = events.find((r) => r.headers.ce_id === row.id);
      expect(record?.topic).toBe(`${prefix}.${row.source}`);
      expect(record?.key).toBe(JSON.stringify([row.source, row.subject]));
      expect(record?.headers.ce_type).toBe(row.type);
      expect(record?.value).toBe(row.data);
    }
    expect(events.find((r) => r.headers.ce_id === '1')?.headers.ce_actor).toBe('alice');
    expect(events.find((r) => r.headers.ce_id === '1')?.value).toContain(`"big": ${BIG}`);
    // Per row: one partition, offsets in feed order.
    const account1 = events.filter((r) => r.key === JSON.stringify(['account', '1']));
    expect(new Set(account1.map((r) => r.partition)).size).toBe(1);
    expect(account1.map((r) => r.headers.ce_type)).toEqual(['account.created', 'account.updated', 'account.updated']);
    const tombstone = records.find((r) => r.value === null);
    expect(tombstone?.key).toBe(JSON.stringify(['account', '2']));
  } finally {
    await relay.stop();
  }
});
