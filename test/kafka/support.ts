// Helpers for tests against the real broker (scripts/kafka/kafka.sh via test/support/kafka-broker.ts).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { homedir } from 'node:os';
import { join } from 'node:path';
import kafkajs, { type KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';
import { ensureKafka, type KafkaBroker, type KafkaOptions } from '../support/kafka-broker.ts';
import { defaultKafkaPort, listening, registerUser } from './broker-users.ts';

const { Kafka, logLevel } = kafkajs;

const started = new Map<string, Promise<KafkaBroker>>();

/**
 * The broker for this run: started by the first Kafka test file that needs it
 * (the script's lock serialises workers; an already running one is reused).
 * Throws when it cannot be started: Kafka tests fail, they never skip. The
 * default broker is registered for this run, so that global-setup.ts stops it
 * at the end if this run started it; a test asking for its own port stops
 * that broker itself.
 */
export function kafkaBroker(options: KafkaOptions = {}): Promise<KafkaBroker> {
  const key = String(options.port ?? 'default');
  let broker = started.get(key);
  if (broker === undefined) {
    broker = (async () => {
      const port = options.port ?? defaultKafkaPort();
      const shared = options.port === undefined;
      // Registered before starting: another run finishing meanwhile must not stop the broker under us.
      if (shared) registerUser(port, inject('auditeRun'), false);
      const wasUp = await listening(port);
      const b = await ensureKafka(options);
      if (shared && !wasUp) registerUser(port, inject('auditeRun'), true);
      if (b.brokers.length === 0) throw new Error('kafka.sh reported no broker address');
      return b;
    })();
    started.set(key, broker);
  }
  return broker;
}

/** Topics are never reused: the broker keeps its data between runs. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

function client(brokers: readonly string[]) {
  return new Kafka({ brokers: [...brokers], clientId: 'audite-test', logLevel: logLevel.NOTHING });
}

export async function createTopic(brokers: readonly string[], topic: string, partitions = 1, config: Record<string, string> = {}): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(config).map(([name, value]) => ({ name, value })) }],
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

export async function listTopics(brokers: readonly string[]): Promise<string[]> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    return await admin.listTopics();
  } finally {
    await admin.disconnect();
  }
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  /** Header values as UTF-8 text; `undefined`/array values would show up as non-strings. */
  headers: Record<string, unknown>;
}

function toRecord(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  const headers: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  return {
    topic,
    partition,
    offset: Number(message.offset),
    key: message.key === null ? null : message.key.toString('utf8'),
    value: message.value === null ? null : message.value.toString('utf8'),
    headers,
  };
}

/**
 * Reads `topics` from the beginning with a kafkajs consumer in a fresh group
 * until `count` records arrived (more may follow within `settleMs`, to catch
 * duplicates), or fails after `timeoutMs`.
 */
export async function readTopics(
  brokers: readonly string[],
  topics: readonly string[],
  count: number,
  { timeoutMs = 60_000, settleMs = 300 } = {},
): Promise<ConsumedRecord[]> {
  const consumer = client(brokers).consumer({ groupId: `audite-test-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const records: ConsumedRecord[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [...topics], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`read ${records.length} of ${count} records from ${topics.join(',')} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      let settling = false;
      consumer
        .run({
          eachMessage: async ({ topic, partition, message }) => {
            records.push(toRecord(topic, partition, message));
            if (records.length >= count && !settling) {
              settling = true;
              clearTimeout(timer);
              setTimeout(resolve, settleMs);
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

/** Where kafka.sh caches the jars of `version` (see its ROOT). */
export function kafkaLibs(version: string): string {
  const cache = process.env.AUDITE_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'audite');
  return join(cache, 'kafka', version, 'libs');
}

/**
 * The partition Kafka's own Java producer picks for each key: Partition.java
 * calls the client's BuiltInPartitioner.partitionForKey (murmur2) from the
 * same jars as the broker.
 */
export function javaPartitions(version: string, keys: readonly string[], partitions: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'java',
      ['-cp', `${kafkaLibs(version)}/*`, join(REPO_ROOT, 'test', 'kafka', 'Partition.java'), String(partitions)],
      { timeout: 60_000, encoding: 'utf8' },
      (error, stdout) => (error ? reject(error) : resolve(stdout.trim().split('\n').map(Number))),
    );
    child.stdin?.end(keys.map((k) => k + '\n').join(''));
  });
}
