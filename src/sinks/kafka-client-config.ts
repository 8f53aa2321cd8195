import kafkajs, { type KafkaConfig, type LogEntry, type ProducerConfig, type SASLOptions } from 'kafkajs';
import type { KafkaSinkConfig } from '../config/config-schema.ts';
import { resolveSecret } from '../config/load-config.ts';
import type { SinkLogger } from './http-sink.ts';

const { logLevel, Partitioners } = kafkajs;

/**
 * The sink's settings as kafkajs client and producer options.
 *
 * kafkajs's own retries are kept small (a few hundred ms in all): the sink
 * retries around them with its capped backoff, reports not-ready meanwhile,
 * and never gives up by default (see kafka-sink.ts).
 */

export const KAFKAJS_RETRY = Object.freeze({ retries: 2, initialRetryTime: 100, maxRetryTime: 1000 });

export function kafkaClientConfig(
  config: Pick<KafkaSinkConfig, 'brokers' | 'clientId' | 'ssl' | 'sasl'>,
  env: Readonly<Record<string, string | undefined>>,
  logger: SinkLogger,
): KafkaConfig {
  const client: KafkaConfig = {
    brokers: [...config.brokers],
    clientId: config.clientId,
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { ...KAFKAJS_RETRY },
    logLevel: logLevel.WARN,
    logCreator: kafkajsLogCreator(logger),
  };
  // TLS with Node's default CA store; a private CA goes in NODE_EXTRA_CA_CERTS.
  if (config.ssl) client.ssl = true;
  if (config.sasl !== undefined) client.sasl = saslOptions(config.sasl, env);
  return client;
}

/** The password comes from the environment variable named in the config; a missing one fails at start-up. */
export function saslOptions(sasl: NonNullable<KafkaSinkConfig['sasl']>, env: Readonly<Record<string, string | undefined>>): SASLOptions {
  const password = resolveSecret(sasl.password, 'sasl.password', env);
  return { mechanism: sasl.mechanism, username: sasl.username, password };
}

/**
 * Ordered, at-least-once producing: every record acknowledged by all in-sync
 * replicas (acks -1 is passed per send), idempotent so kafkajs's own retries
 * cannot duplicate or reorder, one request in flight. The Java-compatible
 * murmur2 partitioner (kafkajs's default since 2.0, named here to keep it and
 * to silence its warning) maps a key to the same partition as Java clients.
 * Topics are never created by producing to them: see createTopics.
 */
export const PRODUCER_CONFIG: Readonly<ProducerConfig> = Object.freeze({
  idempotent: true,
  maxInFlightRequests: 1,
  createPartitioner: Partitioners.DefaultPartitioner,
  allowAutoTopicCreation: false,
  retry: { ...KAFKAJS_RETRY },
});

/**
 * kafkajs's log lines (broker, error name, client id; never record contents)
 * at debug: during an outage kafkajs logs every reconnect attempt, and the
 * sink already logs each failed delivery attempt at warn.
 */
function kafkajsLogCreator(logger: SinkLogger) {
  return () =>
    ({ namespace, log }: LogEntry): void => {
      const { message, broker, error } = log as { message?: unknown; broker?: unknown; error?: unknown };
      logger.debug({ sink: 'kafka', kafkajs: namespace, broker, error }, typeof message === 'string' ? message : 'kafkajs');
    };
}
