// The Kafka broker of scripts/kafka/kafka.sh and Kafka's own tools, for the benchmarks.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { REPO } from './processes.ts';

const run = promisify(execFile);
const KAFKA_SH = join(REPO, 'scripts', 'kafka', 'kafka.sh');
export const PARTITIONS = 3;

export const kafkaSh = async (...args: string[]): Promise<string> => (await run('bash', [KAFKA_SH, ...args], { maxBuffer: 64 << 20 })).stdout;

/** The running broker, or one started for the bench (then `stop` is set). */
export async function broker(): Promise<{ brokers: string[]; version: string; stop?: () => Promise<unknown> }> {
  const env = async () =>
    Object.fromEntries(
      (await kafkaSh('env'))
        .trim()
        .split('\n')
        .map((l) => l.split('=', 2) as [string, string]),
    );
  const port = Number(process.env.AUDITE_KAFKA_PORT ?? 19092);
  const wasUp = await new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
  await kafkaSh('start');
  const vars = await env();
  return { brokers: [vars.AUDITE_KAFKA_BROKERS as string], version: vars.AUDITE_KAFKA_VERSION as string, ...(wasUp ? {} : { stop: () => kafkaSh('stop') }) };
}

export async function endOffsets(brokers: string[], topic: string): Promise<number> {
  const admin = new kafkajs.Kafka({ brokers, logLevel: kafkajs.logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  } finally {
    await admin.disconnect();
  }
}

/** org.apache.kafka.tools.ProducerPerformance from the broker's jars: same broker, record size, acks. */
export async function producerPerformance(n: number, size: number, brokers: string[], topic: string): Promise<{ recordsPerSecond: number; line: string }> {
  await kafkaSh('topics', '--create', '--topic', topic, '--partitions', String(PARTITIONS), '--replication-factor', '1');
  const out = await kafkaSh(
    'producer-perf',
    '--topic',
    topic,
    '--num-records',
    String(n),
    '--record-size',
    String(size),
    '--throughput',
    '-1',
    '--producer-props',
    `bootstrap.servers=${brokers.join(',')}`,
    'acks=all',
  );
  const line = out.trim().split('\n').at(-1) ?? '';
  const match = /records sent, ([\d.]+) records\/sec/.exec(line);
  if (match === null) throw new Error(`unexpected ProducerPerformance output: ${line}`);
  return { recordsPerSecond: Number(match[1]), line };
}
