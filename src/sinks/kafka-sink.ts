import kafkajs, { type Message, type Producer, type TopicMessages } from 'kafkajs';
import type { KafkaSinkConfig } from '../config/config-schema.ts';
import { AuditeError } from '../errors.ts';
import { kafkaBinary, kafkaStructured, kafkaTombstone, recordBytes, type KafkaRecord } from '../events/kafka-binding.ts';
import type { OutboundEvent } from '../events/outbound-event.ts';
import { resolveBackoffPolicy, retryWithBackoff, RetryableDeliveryError, type FailedAttempt } from './backoff.ts';
import type { SinkLogger } from './http-sink.ts';
import { kafkaClientConfig, PRODUCER_CONFIG } from './kafka-client-config.ts';
import { classifyKafkaError } from './kafka-errors.ts';
import { createTopicRegistry } from './kafka-topic-registry.ts';
import { createTopicResolver, TopicNameError } from './kafka-topics.ts';
import { PermanentDeliveryError } from './permanent-delivery-error.ts';
import type { Sink, SinkHealth } from './sink.ts';

const { Kafka, CompressionTypes } = kafkajs;

/**
 * Publishes CloudEvents to Kafka with kafkajs: one record per event (plus a
 * tombstone after a delete when enabled), keyed by the row identity, so each
 * row's events land in one partition in feed order. publish resolves once
 * every record was acknowledged by all in-sync replicas; only then does the
 * consumer move its checkpoint.
 *
 * A publish is sent as consecutive sendBatch calls of at most maxBatchBytes
 * (the consumer's batchSize bounds the count), one at a time and in order.
 * Each is retried with the sink's capped backoff until acknowledged: the
 * broker may be down at start (nothing connects before the first publish) or
 * go away mid-stream; health() is not ready, with the reason, meanwhile.
 *
 * Permanent failures (PermanentDeliveryError, for the consumer's policy):
 * - a record the broker refuses as too large or invalid: with the event's
 *   position when the request held one event, else without one (the consumer
 *   then publishes one by one to find it);
 * - a topic that does not exist while createTopics is off, or a table whose
 *   topic name would be too long: the position of the first such event, after
 *   every event before it was delivered.
 * A topic that vanishes after it was seen makes publish reject with
 * SINK_UNAVAILABLE instead: the consumer retries the batch, and the check
 * above then decides.
 */

export interface KafkaSinkDeps {
  logger?: SinkLogger;
  /** Where `sasl.password` is resolved from. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Called for each failed attempt that will be retried (the relay counts them for /metrics). */
  onRetry?: () => void;
}

interface PlannedEvent {
  event: OutboundEvent;
  topic: string;
  records: KafkaRecord[];
}

interface Chunk {
  events: OutboundEvent[];
  topicMessages: TopicMessages[];
}

const silent: SinkLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function createKafkaSink(config: KafkaSinkConfig, deps: KafkaSinkDeps = {}): Sink {
  const log = deps.logger ?? silent;
  const topicFor = createTopicResolver(config.topic);
  const client = new Kafka(kafkaClientConfig(config, deps.env ?? {}, log));
  const topics = createTopicRegistry(client, config.createTopics);
  const serialize = config.mode === 'structured' ? kafkaStructured : kafkaBinary;
  const compression = config.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  const policy = resolveBackoffPolicy({ ...config.retry, maxRetries: config.retry.maxRetries ?? Number.POSITIVE_INFINITY });
  const brokers = config.brokers.join(',');
  const closing = new AbortController();
  let producer: Producer | undefined;
  let health: SinkHealth = { ready: true };

  async function connectedProducer(): Promise<Producer> {
    if (producer !== undefined) return producer;
    const fresh = client.producer(PRODUCER_CONFIG);
    try {
      await fresh.connect();
      // close() ran while we were connecting: it could not see this producer.
      closing.signal.throwIfAborted();
    } catch (error) {
      await fresh.disconnect().catch(() => {});
      throw error;
    }
    producer = fresh;
    return fresh;
  }

  async function dropProducer(): Promise<void> {
    const old = producer;
    producer = undefined;
    await old?.disconnect().catch(() => {});
  }

  function plan(event: OutboundEvent): PlannedEvent {
    const records = [serialize(event)];
    if (config.tombstones && event.deleted) records.push(kafkaTombstone(event));
    return { event, topic: topicFor(event.table), records };
  }

  /** Runs one attempt of `work`; a kafkajs failure becomes the error retryWithBackoff and the consumer act on. */
  async function attempt(work: () => Promise<void>, chunk: Chunk | undefined, signal: AbortSignal): Promise<void> {
    try {
      await untilAborted(work(), signal);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      if (error instanceof AuditeError) throw error;
      const { kind, reason } = classifyKafkaError(error);
      health = { ready: false, reason: `${reason} (brokers ${brokers})` };
      if (kind === 'refused' && chunk !== undefined) {
        const position = chunk.events.length === 1 ? chunk.events[0]?.position : undefined;
        log.error({ sink: 'kafka', reason, position, events: chunk.events.length }, 'Kafka refused a record for good');
        throw new PermanentDeliveryError(`Kafka refused the record: ${reason}`, { position }, { cause: error });
      }
      if (kind === 'unknown-topic' && chunk !== undefined) {
        for (const { topic } of chunk.topicMessages) topics.forget(topic);
        throw new AuditeError('SINK_UNAVAILABLE', `Kafka does not know a topic of this batch: ${reason}; checking the topics again`, { cause: error });
      }
      // A broker that lost our producer id or sequence numbers only takes a new producer.
      if (kind === 'producer-state') await dropProducer();
      throw new RetryableDeliveryError(kind === 'auth' ? `Kafka refused our credentials or ACLs: ${reason}` : reason, {}, { cause: error });
    }
    if (!health.ready) log.info({ sink: 'kafka', brokers }, 'Kafka sink delivering again');
    health = { ready: true };
  }

  function onFailedAttempt({ error, attempt: n, willRetry, delayMs }: FailedAttempt): void {
    if (!(error instanceof RetryableDeliveryError)) return;
    const fields = { sink: 'kafka', brokers, attempt: n, reason: error.message };
    if (willRetry) {
      deps.onRetry?.();
      log.warn({ ...fields, retryInMs: delayMs }, 'Kafka delivery failed, retrying');
    } else log.warn(fields, 'Kafka delivery failed, giving up');
  }

  function withRetry(work: () => Promise<void>, chunk: Chunk | undefined, signal: AbortSignal): Promise<void> {
    return retryWithBackoff(() => attempt(work, chunk, signal), policy, signal, onFailedAttempt);
  }

  return {
    kind: 'kafka',
    async publish(events, callerSignal) {
      const signal = AbortSignal.any([callerSignal, closing.signal]);
      signal.throwIfAborted();
      const planned: PlannedEvent[] = [];
      let refused: PermanentDeliveryError | undefined;
      for (const event of events) {
        try {
          planned.push(plan(event));
        } catch (error) {
          if (!(error instanceof TopicNameError)) throw error;
          refused = new PermanentDeliveryError(error.message, { position: event.position });
          break;
        }
      }

      // Topics first: a missing one stops the publish right before its first event.
      let missing = new Set<string>();
      await withRetry(async () => void (missing = await topics.missing(planned.map((p) => p.topic))), undefined, signal);
      const cut = planned.findIndex((p) => missing.has(p.topic));
      if (cut !== -1) {
        const { topic, event } = planned[cut] as PlannedEvent;
        refused = new PermanentDeliveryError(`Kafka topic ${JSON.stringify(topic)} does not exist, and createTopics is off; create it, or set createTopics`, {
          position: event.position,
        });
        planned.length = cut;
      }

      for (const chunk of chunks(planned, config.maxBatchBytes)) {
        await withRetry(
          async () => void (await (await connectedProducer()).sendBatch({ topicMessages: chunk.topicMessages, acks: -1, compression })),
          chunk,
          signal,
        );
      }
      if (refused !== undefined) {
        log.error({ sink: 'kafka', position: refused.position, reason: refused.message }, 'Kafka sink cannot deliver an event');
        throw refused;
      }
    },
    health: () => health,
    async close() {
      closing.abort(new AuditeError('SINK_UNAVAILABLE', 'Kafka sink closed'));
      await Promise.all([dropProducer(), topics.close()]);
    },
  };
}

/** Consecutive runs of events of at most `maxBytes` (an event alone may exceed it), records grouped by topic in order. */
export function chunks(planned: readonly PlannedEvent[], maxBytes: number): Chunk[] {
  const result: Chunk[] = [];
  let byTopic = new Map<string, Message[]>();
  let events: OutboundEvent[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (events.length === 0) return;
    result.push({ events, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    byTopic = new Map();
    events = [];
    bytes = 0;
  };
  for (const { event, topic, records } of planned) {
    let size = 0;
    for (const record of records) size += recordBytes(record);
    if (bytes + size > maxBytes) flush();
    let messages = byTopic.get(topic);
    if (messages === undefined) byTopic.set(topic, (messages = []));
    for (const record of records) messages.push(record);
    events.push(event);
    bytes += size;
  }
  flush();
  return result;
}

/** kafkajs cannot cancel a send: on abort, stop waiting for it (a later close() disconnects it). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
