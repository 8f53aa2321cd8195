// The relay with the Kafka sink against the real broker: topics, keys, partitions, headers, tombstones, exact numbers.
import { beforeAll, describe, expect, test } from 'vitest';
import type { KafkaBroker } from '../support/kafka-broker.ts';
import { appDatabase, cursorOf, runRelay, testConfig, waitFor } from '../support/relay.ts';
import { consoleConsume } from '../support/kafka-broker.ts';
import { javaPartitions, kafkaBroker, readTopics, uniqueTopic, type ConsumedRecord } from './support.ts';

const BIG = '9007199254740993'; // 2^53 + 1: not representable as a double
const DDL = 'CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT, big INTEGER); CREATE TABLE invoice (id INTEGER PRIMARY KEY, amount INTEGER);';

interface FeedRow {
  id: number;
  source: string;
  subject: string;
  type: string;
  data: string;
}

let broker: KafkaBroker;
beforeAll(async () => {
  broker = await kafkaBroker();
});

/** A few creates, updates and deletes over two tables; returns the feed. */
function writeChanges(app: ReturnType<typeof appDatabase>['app']): FeedRow[] {
  const insertAccount = app.prepare('INSERT INTO account (id, name, big) VALUES (?, ?, ?)');
  const insertInvoice = app.prepare('INSERT INTO invoice (id, amount) VALUES (?, ?)');
  app.transaction(() => {
    for (let i = 1; i <= 12; i++) insertAccount.run(i, `Zoë ${i}`, BigInt(BIG));
    for (let i = 1; i <= 8; i++) insertInvoice.run(i, i * 100);
  })();
  app.prepare('UPDATE account SET name = name || ? WHERE id <= 6').run(' (updated)');
  app.prepare('UPDATE invoice SET amount = amount + 1 WHERE id % 2 = 0').run();
  app.prepare('DELETE FROM account WHERE id IN (3, 9)').run();
  app.prepare('DELETE FROM invoice WHERE id = 4').run();
  app.prepare('UPDATE account SET name = ? WHERE id = 1').run('last');
  return app.prepare('SELECT id, source, subject, type, data FROM audite_changefeed ORDER BY id').all() as FeedRow[];
}

const keyOf = (row: FeedRow): string => JSON.stringify([row.source, row.subject]);

describe('relay → Kafka (binary mode, topic per table, tombstones)', () => {
  test('every event in its table topic, keyed by row, in the Java partition, in order, headers per the binding; tombstones after deletes; 2^53+1 exact', async () => {
    const { file, app } = appDatabase(DDL);
    const prefix = uniqueTopic('audite-it');
    const feed = writeChanges(app);
    const relay = await runRelay(
      testConfig({
        database: file,
        sinks: [{ type: 'kafka', name: 'kafka', brokers: broker.brokers, topic: `${prefix}.{table}`, createTopics: { partitions: 3 }, tombstones: true }],
      }),
    );
    const head = feed.at(-1)!.id;
    await waitFor(() => cursorOf(app, 'kafka') === head, 30_000, 'all events acknowledged');
    await relay.stop();

    const deletes = feed.filter((r) => r.type.endsWith('.deleted'));
    const records = await readTopics(broker.brokers, [`${prefix}.account`, `${prefix}.invoice`], feed.length + deletes.length);
    expect(records).toHaveLength(feed.length + deletes.length);

    // Right topics and keys; each event exactly once (no failures, so no redelivery).
    const events = records.filter((r) => r.value !== null);
    const byId = new Map(events.map((r) => [Number(r.headers.ce_id), r]));
    expect([...byId.keys()].sort((a, b) => a - b)).toEqual(feed.map((r) => r.id));
    for (const row of feed) {
      const record = byId.get(row.id) as ConsumedRecord;
      expect(record.topic).toBe(`${prefix}.${row.source}`);
      expect(record.key).toBe(keyOf(row));
      // The value is the feed's data text, byte for byte (2^53+1 included).
      expect(record.value).toBe(row.data);
    }
    expect(events.filter((r) => r.topic.endsWith('.account')).every((r) => r.value?.includes(`"big":${BIG}`))).toBe(true);

    // Partition = what Kafka's Java producer picks for the key (murmur2), from the broker's own jars.
    const keys = [...new Set(records.map((r) => r.key as string))];
    const expected = await javaPartitions(broker.version, keys, 3);
    const javaPartition = new Map(keys.map((k, i) => [k, expected[i]]));
    for (const record of records) expect(record.partition, record.key ?? '').toBe(javaPartition.get(record.key as string));
    expect(new Set(records.map((r) => r.partition)).size).toBe(3);

    // Per key, offsets follow the feed order.
    const perKey = new Map<string, ConsumedRecord[]>();
    for (const r of records) perKey.set(`${r.topic}/${r.key}`, [...(perKey.get(`${r.topic}/${r.key}`) ?? []), r]);
    for (const list of perKey.values()) {
      list.sort((a, b) => a.offset - b.offset);
      const ids = list.filter((r) => r.value !== null).map((r) => Number(r.headers.ce_id));
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
    }

    // Headers: the binding, every value a UTF-8 string.
    for (const row of feed) {
      const { headers } = byId.get(row.id) as ConsumedRecord;
      for (const value of Object.values(headers)) expect(typeof value).toBe('string');
      expect(headers).toMatchObject({
        ce_specversion: '1.0',
        ce_id: String(row.id),
        ce_source: row.source,
        ce_type: row.type,
        ce_subject: row.subject,
        ce_sequence: String(row.id).padStart(20, '0'),
        ce_partitionkey: keyOf(row),
        'content-type': 'application/json',
      });
      expect(headers.ce_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(headers).not.toHaveProperty('ce_datacontenttype');
    }

    // A tombstone right after each delete: same key, same partition, null value, no headers.
    for (const row of deletes) {
      const list = (perKey.get(`${prefix}.${row.source}/${keyOf(row)}`) ?? []).sort((a, b) => a.offset - b.offset);
      const at = list.findIndex((r) => r.headers.ce_id === String(row.id));
      expect(at).toBeGreaterThanOrEqual(0);
      const tombstone = list[at + 1] as ConsumedRecord;
      expect(tombstone).toMatchObject({ key: keyOf(row), value: null, headers: {}, partition: list[at]?.partition });
    }
    expect(records.filter((r) => r.value === null)).toHaveLength(deletes.length);
  });
});

describe('an independent reader: Kafka console consumer from the broker jars', () => {
  test('sees valid CloudEvents in binary mode (ce_ headers) and structured mode (JSON envelope)', async () => {
    const { file, app } = appDatabase(DDL);
    const binaryTopic = uniqueTopic('audite-console-bin');
    const structuredTopic = uniqueTopic('audite-console-str');
    app.prepare('INSERT INTO account (id, name, big) VALUES (?, ?, ?)').run(1, 'Zoë', BigInt(BIG));
    app.prepare('UPDATE account SET name = ? WHERE id = 1').run('Zoë, again');
    app.prepare('INSERT INTO invoice (id, amount) VALUES (1, 5)').run();
    const kafka = { type: 'kafka', brokers: broker.brokers, createTopics: { partitions: 1 } };
    const relay = await runRelay(
      testConfig({
        database: file,
        sinks: [
          { ...kafka, name: 'bin', topic: binaryTopic },
          { ...kafka, name: 'str', topic: structuredTopic, mode: 'structured', compression: 'gzip' },
        ],
      }),
    );
    await waitFor(() => cursorOf(app, 'bin') === 3 && cursorOf(app, 'str') === 3, 30_000, 'both sinks acknowledged');
    await relay.stop();

    // Lines: "headers<TAB>key<TAB>value"; headers "name:value,name:value" (values may hold commas).
    const binary = (await consoleConsume(binaryTopic, 3, 20_000)).trim().split('\n');
    expect(binary).toHaveLength(3);
    binary.forEach((line, i) => {
      const [headerText, key, value] = line.split('\t') as [string, string, string];
      const headers = Object.fromEntries(
        headerText.split(/,(?=(?:ce_[a-z0-9]+|content-type):)/).map((h) => [h.slice(0, h.indexOf(':')), h.slice(h.indexOf(':') + 1)]),
      );
      expect(headers).toMatchObject({ ce_specversion: '1.0', ce_id: String(i + 1), 'content-type': 'application/json', ce_partitionkey: key });
      for (const required of ['ce_source', 'ce_type', 'ce_time']) expect(headers[required]).toBeTruthy();
      expect(() => JSON.parse(value)).not.toThrow();
    });
    expect(binary[0]).toContain(`"big":${BIG}`);
    expect(binary[1]).toContain('"name":"Zoë, again"');

    const structured = (await consoleConsume(structuredTopic, 3, 20_000)).trim().split('\n');
    expect(structured).toHaveLength(3);
    structured.forEach((line, i) => {
      const [headers, key, value] = line.split('\t') as [string, string, string];
      expect(headers).toBe('content-type:application/cloudevents+json; charset=UTF-8');
      const envelope = JSON.parse(value) as Record<string, unknown>;
      expect(envelope).toMatchObject({ specversion: '1.0', id: String(i + 1), datacontenttype: 'application/json', partitionkey: key });
      expect(typeof envelope.source).toBe('string');
      expect(typeof envelope.type).toBe('string');
    });
    expect(structured[0]).toContain(`"big":${BIG}`);
  });
});
