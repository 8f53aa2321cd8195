// Unit tests of the sink's pieces that need no broker: client options (TLS, SASL), topic names, error kinds, chunking.
import kafkajs from 'kafkajs';
import { describe, expect, test } from 'vitest';
import { kafkaSinkSchema } from '../../src/config/config-schema.ts';
import { isAuditeError } from '../../src/errors.ts';
import { createEventBuilder } from '../../src/events/cloudevent-builder.ts';
import { kafkaBinary, kafkaTombstone, recordBytes } from '../../src/events/kafka-binding.ts';
import { silentLogger } from '../../src/relay/logger.ts';
import { createSink } from '../../src/sinks/create-sink.ts';
import { KAFKAJS_RETRY, kafkaClientConfig, PRODUCER_CONFIG } from '../../src/sinks/kafka-client-config.ts';
import { classifyKafkaError } from '../../src/sinks/kafka-errors.ts';
import { chunks } from '../../src/sinks/kafka-sink.ts';
import { createTopicResolver, sanitizeTableName, TopicNameError } from '../../src/sinks/kafka-topics.ts';

const {
  KafkaJSAggregateError,
  KafkaJSConnectionError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  KafkaJSProtocolError,
  KafkaJSSASLAuthenticationError,
  Partitioners,
} = kafkajs;

const base = { type: 'kafka', brokers: ['b1:9092', 'b2:9092'], topic: 'audite' };
const parse = (extra: Record<string, unknown> = {}) => kafkaSinkSchema.parse({ ...base, ...extra });
const noLog = { debug() {}, info() {}, warn() {}, error() {} };

describe('Kafka client options', () => {
  test('plain: brokers, client id, small kafkajs retries, no TLS or SASL', () => {
    const options = kafkaClientConfig(parse(), {}, noLog);
    expect(options).toMatchObject({ brokers: ['b1:9092', 'b2:9092'], clientId: 'audite', retry: KAFKAJS_RETRY });
    expect(options.ssl).toBeUndefined();
    expect(options.sasl).toBeUndefined();
  });

  test('TLS and SASL/SCRAM with the password from the named environment variable', () => {
    const config = parse({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'relay', password: { env: 'KAFKA_PASSWORD' } } });
    const options = kafkaClientConfig(config, { KAFKA_PASSWORD: 's3cret' }, noLog);
    expect(options.ssl).toBe(true);
    expect(options.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'relay', password: 's3cret' });
  });

  test.each(['plain', 'scram-sha-256'] as const)('SASL %s', (mechanism) => {
    const config = parse({ sasl: { mechanism, username: 'u', password: { env: 'P' } } });
    expect(kafkaClientConfig(config, { P: 'p' }, noLog).sasl).toEqual({ mechanism, username: 'u', password: 'p' });
  });

  test('a missing password variable is a config error at start-up that names the variable, not a value', () => {
    const config = parse({ sasl: { mechanism: 'plain', username: 'u', password: { env: 'NOPE' } } });
    let error: unknown;
    try {
      kafkaClientConfig(config, {}, noLog);
    } catch (e) {
      error = e;
    }
    expect(isAuditeError(error, 'CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('NOPE');
  });

  test('a literal password in the config is rejected by the schema', () => {
    expect(() => parse({ sasl: { mechanism: 'plain', username: 'u', password: 'literal' } })).toThrow();
  });

  test('producer: idempotent, one request in flight, Java-compatible partitioner, no auto-creation', () => {
    expect(PRODUCER_CONFIG).toMatchObject({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    expect(PRODUCER_CONFIG.createPartitioner).toBe(Partitioners.DefaultPartitioner);
  });

  test('createSink builds a Kafka sink without connecting (a broker down at start is no error)', async () => {
    const sink = await createSink(parse({ brokers: ['127.0.0.1:1'] }), { logger: silentLogger, env: {}, stdout: process.stdout });
    expect(sink.kind).toBe('kafka');
    expect(sink.health()).toEqual({ ready: true });
    await sink.publish([], new AbortController().signal);
    await sink.close();
  });
});

describe('Kafka topic names', () => {
  test('a fixed topic', () => {
    expect(createTopicResolver('audite.events')('anything')).toBe('audite.events');
  });

  test('a template per table, sanitised to Kafka-legal characters', () => {
    const topicFor = createTopicResolver('audite.{table}');
    expect(topicFor('orders')).toBe('audite.orders');
    expect(topicFor('order items')).toBe('audite.order_items');
    // One _ per code point: ë, / and the astral 𝒳 (two UTF-16 units).
    expect(topicFor('Zoë/𝒳')).toBe('audite.Zo___');
    expect(createTopicResolver('{table}')('.')).toBe('_');
    expect(sanitizeTableName('')).toBe('_');
  });

  test('collisions are possible (documented): the key still names the real table', () => {
    const topicFor = createTopicResolver('audite.{table}');
    expect(topicFor('order items')).toBe(topicFor('order_items'));
  });

  test.each(['bad topic', 'a/{table}', '.', '..', 'x'.repeat(250)])('illegal setting %j is a config error', (setting) => {
    expect(() => createTopicResolver(setting)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  test('a table whose topic would be too long is refused per table', () => {
    const topicFor = createTopicResolver('audite.{table}');
    expect(() => topicFor('t'.repeat(249))).toThrow(TopicNameError);
  });
});

describe('Kafka error kinds (by class and type, never message)', () => {
  // kafkajs's typings omit the constructor arguments its own code passes (cause, metadata).
  const make = (type: unknown, ...args: unknown[]): Error => Reflect.construct(type as new (...a: unknown[]) => Error, args);
  const protocol = (type: string, retriable = false) => make(KafkaJSProtocolError, { message: 'x', type, code: 1, retriable });

  test('too large, wrapped as kafkajs does', () => {
    const inner = protocol('MESSAGE_TOO_LARGE');
    const failure = classifyKafkaError(make(KafkaJSNonRetriableError, inner, { cause: inner }));
    expect(failure.kind).toBe('refused');
    expect(failure.reason).toContain('MESSAGE_TOO_LARGE');
  });

  test('broker down after kafkajs retries: transient, with the socket code', () => {
    const failure = classifyKafkaError(
      make(KafkaJSNumberOfRetriesExceeded, make(KafkaJSConnectionError, 'refused', { code: 'ECONNREFUSED' }), { retryCount: 2, retryTime: 100 }),
    );
    expect(failure).toEqual({ kind: 'transient', reason: 'KafkaJSNumberOfRetriesExceeded: KafkaJSConnectionError (ECONNREFUSED)' });
  });

  test.each([
    ['UNKNOWN_TOPIC_OR_PARTITION', 'unknown-topic'],
    ['OUT_OF_ORDER_SEQUENCE_NUMBER', 'producer-state'],
    ['UNKNOWN_PRODUCER_ID', 'producer-state'],
    ['TOPIC_AUTHORIZATION_FAILED', 'auth'],
    ['NOT_LEADER_FOR_PARTITION', 'transient'],
    ['RECORD_LIST_TOO_LARGE', 'refused'],
  ])('%s → %s', (type, kind) => {
    expect(classifyKafkaError(protocol(type)).kind).toBe(kind);
  });

  test('createTopics failures (KafkaJSAggregateError) name the Kafka error', () => {
    // Exported at run time, missing from kafkajs's typings.
    const { KafkaJSCreateTopicError } = kafkajs as unknown as Record<string, unknown>;
    const aggregate = make(KafkaJSAggregateError, 'Topic creation errors', [
      make(KafkaJSCreateTopicError, { message: 'x', type: 'INVALID_REPLICATION_FACTOR', code: 38 }, 't'),
    ]);
    expect(classifyKafkaError(aggregate)).toEqual({ kind: 'transient', reason: 'KafkaJSAggregateError: KafkaJSCreateTopicError INVALID_REPLICATION_FACTOR' });
  });

  test('SASL failure and unknown errors', () => {
    expect(classifyKafkaError(make(KafkaJSSASLAuthenticationError, 'no')).kind).toBe('auth');
    expect(classifyKafkaError(new Error('boom')).kind).toBe('transient');
    expect(classifyKafkaError('weird').reason).toBe('unknown error');
  });
});

describe('Kafka batching by bytes', () => {
  const build = createEventBuilder();
  const events = Array.from({ length: 10 }, (_, i) =>
    build({
      id: i + 1,
      table: i % 2 ? 'a' : 'b',
      subject: String(i),
      type: i === 4 ? 'a.deleted' : 'a.created',
      time: 1,
      specversion: '1.0',
      data: `{"v":"${'x'.repeat(100)}"}`,
      context: null,
    }),
  );
  const planned = events.map((event) => ({
    event,
    topic: `t.${event.table}`,
    records: event.deleted ? [kafkaBinary(event), kafkaTombstone(event)] : [kafkaBinary(event)],
  }));
  const size = recordBytes(kafkaBinary(events[0]!));

  test('consecutive runs within the byte limit, all events in order, records grouped by topic', () => {
    const result = chunks(planned, size * 3 + 1);
    expect(result.flatMap((c) => c.events.map((e) => e.position))).toEqual(events.map((e) => e.position));
    expect(result.length).toBeGreaterThanOrEqual(4);
    for (const chunk of result) {
      expect(chunk.events.length).toBeLessThanOrEqual(3);
      for (const { topic, messages } of chunk.topicMessages) {
        expect(messages.every((m) => planned.find((p) => p.event.key === m.key)?.topic === topic)).toBe(true);
      }
    }
    // The tombstone travels with its delete, right after it.
    const withDelete = result.find((c) => c.events.some((e) => e.deleted))!;
    const messages = withDelete.topicMessages.find((t) => t.topic === 't.b')!.messages;
    const at = messages.findIndex((m) => m.headers?.ce_id === '5');
    expect(messages[at + 1]).toEqual({ key: events[4]!.key, value: null, headers: {} });
  });

  test('an event larger than the limit travels alone; one big chunk when everything fits', () => {
    expect(chunks(planned, 1).map((c) => c.events.length)).toEqual(Array(10).fill(1));
    expect(chunks(planned, 1_000_000)).toHaveLength(1);
  });
});
