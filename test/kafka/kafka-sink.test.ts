// The Kafka sink's failure policies against the real broker: too-large records, missing topics, an unreachable broker.
import { beforeAll, describe, expect, test } from 'vitest';
import { kafkaSinkSchema } from '../../src/config/config-schema.ts';
import { createEventBuilder } from '../../src/events/cloudevent-builder.ts';
import type { OutboundEvent } from '../../src/events/outbound-event.ts';
import type { SinkLogger } from '../../src/sinks/http-sink.ts';
import { createKafkaSink } from '../../src/sinks/kafka-sink.ts';
import { PermanentDeliveryError } from '../../src/sinks/permanent-delivery-error.ts';
import type { KafkaBroker } from '../support/kafka-broker.ts';
import { appDatabase, cursorOf, runRelay, testConfig, waitFor } from '../support/relay.ts';
import { createTopic, kafkaBroker, listTopics, readTopics, uniqueTopic } from './support.ts';

const MAX_MESSAGE_BYTES = 4000;
const build = createEventBuilder();
const never = (): AbortSignal => new AbortController().signal;
const fastRetry = { minDelayMs: 10, maxDelayMs: 100 };

let broker: KafkaBroker;
beforeAll(async () => {
  broker = await kafkaBroker();
});

function event(id: number, table: string, dataBytes = 50): OutboundEvent {
  return build({
    id,
    table,
    subject: String(id),
    type: `${table}.created`,
    time: 1_700_000_000,
    specversion: '1.0',
    data: JSON.stringify({ new: { id, secret: 's'.repeat(dataBytes) } }),
    context: null,
  });
}

function sink(extra: Record<string, unknown>, logger?: SinkLogger) {
  const config = kafkaSinkSchema.parse({ type: 'kafka', brokers: broker.brokers, retry: fastRetry, ...extra });
  return createKafkaSink(config, logger ? { logger } : {});
}

function recordingLogger(): SinkLogger & { text: () => string } {
  const lines: string[] = [];
  const record = (obj: object, msg?: string) => void lines.push(JSON.stringify({ ...obj, msg }));
  return { text: () => lines.join('\n'), debug: record, info: record, warn: record, error: record };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('an event larger than the broker accepts', () => {
  test('alone: PermanentDeliveryError with its position; in a batch: without one, so the consumer isolates it; never logged', async () => {
    const topic = uniqueTopic('audite-too-large');
    await createTopic(broker.brokers, topic, 1, { 'max.message.bytes': String(MAX_MESSAGE_BYTES) });
    const logger = recordingLogger();
    const kafka = sink({ topic }, logger);
    try {
      const huge = event(2, 't', MAX_MESSAGE_BYTES * 2);
      const alone = await rejection(kafka.publish([huge], never()));
      expect(alone).toBeInstanceOf(PermanentDeliveryError);
      expect((alone as PermanentDeliveryError).position).toBe(2);
      expect((alone as Error).message).toContain('MESSAGE_TOO_LARGE');

      const inBatch = await rejection(kafka.publish([event(1, 't'), huge, event(3, 't')], never()));
      expect(inBatch).toBeInstanceOf(PermanentDeliveryError);
      expect((inBatch as PermanentDeliveryError).position).toBeUndefined();

      // The sink still delivers afterwards.
      await kafka.publish([event(4, 't')], never());
      expect(kafka.health().ready).toBe(true);
    } finally {
      await kafka.close();
    }
    expect(logger.text()).not.toContain('sss');
  });

  test('through the relay with dead-lettering: the big event is dead-lettered, the others delivered in order, the cursor moves on', async () => {
    const topic = uniqueTopic('audite-too-large-relay');
    await createTopic(broker.brokers, topic, 1, { 'max.message.bytes': String(MAX_MESSAGE_BYTES) });
    const { file, app } = appDatabase('CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT)');
    const insert = app.prepare('INSERT INTO doc (id, body) VALUES (?, ?)');
    app.transaction(() => {
      for (let i = 1; i <= 9; i++) insert.run(i, i === 5 ? 'x'.repeat(MAX_MESSAGE_BYTES * 2) : `doc ${i}`);
    })();
    const relay = await runRelay(
      testConfig({
        database: file,
        sinks: [{ type: 'kafka', name: 'kafka', brokers: broker.brokers, topic, onPermanentFailure: 'dead-letter', retry: fastRetry }],
      }),
    );
    await waitFor(() => cursorOf(app, 'kafka') === 9, 30_000, 'cursor past the big event');
    await relay.stop();
    const dead = app.prepare('SELECT event_id, error FROM audite_deadletter').all() as { event_id: number; error: string }[];
    expect(dead.map((d) => d.event_id)).toEqual([5]);
    expect(dead[0]?.error).toContain('MESSAGE_TOO_LARGE');
    const records = await readTopics(broker.brokers, [topic], 8);
    const firsts = [...new Set(records.map((r) => Number(r.headers.ce_id)))];
    expect(firsts).toEqual([1, 2, 3, 4, 6, 7, 8, 9]);
  });
});

describe('a missing topic with createTopics off', () => {
  test('events before it are delivered; the first event for it is refused with its position; nothing is auto-created', async () => {
    const prefix = uniqueTopic('audite-missing');
    await createTopic(broker.brokers, `${prefix}.present`);
    const kafka = sink({ topic: `${prefix}.{table}` });
    try {
      const error = await rejection(kafka.publish([event(1, 'present'), event(2, 'present'), event(3, 'absent'), event(4, 'present')], never()));
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect((error as PermanentDeliveryError).position).toBe(3);
      expect((error as Error).message).toContain(`"${prefix}.absent" does not exist`);
    } finally {
      await kafka.close();
    }
    const records = await readTopics(broker.brokers, [`${prefix}.present`], 2);
    expect(records.map((r) => r.headers.ce_id)).toEqual(['1', '2']);
    expect(await listTopics(broker.brokers)).not.toContain(`${prefix}.absent`);
  });

  test('through the relay (policy halt): the consumer halts at that event with a clear error', async () => {
    const topic = uniqueTopic('audite-missing-relay');
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (id, name, qty) VALUES (1, 'a', 1)").run();
    const relay = await runRelay(testConfig({ database: file, sinks: [{ type: 'kafka', name: 'kafka', brokers: broker.brokers, topic, retry: fastRetry }] }));
    expect(await relay.done).toEqual(['halted']);
    await relay.stop();
    const cursor = app.prepare("SELECT position, halted, last_error AS lastError FROM audite_cursor WHERE consumer = 'kafka'").get() as {
      position: number;
      halted: number;
      lastError: string;
    };
    expect(cursor).toMatchObject({ position: 0, halted: 1 });
    expect(cursor.lastError).toContain(`Kafka topic "${topic}" does not exist`);
  });
});

describe('batching and modes', () => {
  test('structured + gzip, split into many sends by maxBatchBytes: all arrive once, in order', async () => {
    const topic = uniqueTopic('audite-batches');
    const kafka = sink({ topic, createTopics: { partitions: 1 }, mode: 'structured', compression: 'gzip', maxBatchBytes: 2000 });
    const events = Array.from({ length: 300 }, (_, i) => event(i + 1, 't', 100));
    try {
      await kafka.publish(events.slice(0, 150), never());
      await kafka.publish(events.slice(150), never());
    } finally {
      await kafka.close();
    }
    const records = await readTopics(broker.brokers, [topic], 300);
    expect(records.map((r) => (JSON.parse(r.value as string) as { id: string }).id)).toEqual(events.map((e) => String(e.position)));
    expect(records.every((r) => r.headers['content-type'] === 'application/cloudevents+json; charset=UTF-8')).toBe(true);
  });
});

describe('an unreachable broker', () => {
  test('publish keeps retrying with backoff, health is not ready with the reason, an abort ends it', async () => {
    const logger = recordingLogger();
    const config = kafkaSinkSchema.parse({ type: 'kafka', brokers: ['127.0.0.1:1'], topic: 't', retry: fastRetry });
    const kafka = createKafkaSink(config, { logger });
    expect(kafka.health().ready).toBe(true);
    const controller = new AbortController();
    const publishing = kafka.publish([event(1, 't')], controller.signal);
    await waitFor(() => !kafka.health().ready, 20_000, 'not ready');
    expect(kafka.health().reason).toContain('ECONNREFUSED');
    expect(kafka.health().reason).toContain('127.0.0.1:1');
    await waitFor(() => logger.text().split('Kafka delivery failed, retrying').length > 2, 20_000, 'two retries logged');
    controller.abort(new Error('test over'));
    await expect(publishing).rejects.toThrow('test over');
    await kafka.close();
  });
});
