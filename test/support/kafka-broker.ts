// Test helper: a real single-node Kafka broker (KRaft) run from Apache Kafka's own
// jars by scripts/kafka/kafka.sh. No Docker, and no silent skipping: if the broker
// cannot be started, these functions throw and the test fails.
import { execFile, type ExecFileException } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
const script = path.join(repoRoot, 'scripts', 'kafka', 'kafka.sh');

// A cold start may download ~50 MB of jars through Maven, wait for another worker's
// start (the script serialises them with a lock) and then up to 90 s for readiness.
const START_TIMEOUT_MS = 10 * 60_000;
const STOP_TIMEOUT_MS = 2 * 60_000;
// JVM start-up plus consumer-group join come on top of the consumer's own timeout.
const CONSUMER_OVERHEAD_MS = 60_000;

export interface KafkaOptions {
  /** Kafka version, e.g. "3.9.2" or "4.3.1"; default: $AUDITE_KAFKA_VERSION, else the script's default. */
  version?: string;
  /** Broker port (controller uses port + 1); default: $AUDITE_KAFKA_PORT, else 19092. */
  port?: number;
}

export interface KafkaBroker {
  brokers: string[];
  version: string;
}

type ExecError = ExecFileException & { stdout?: string; stderr?: string };

function isExecError(err: unknown): err is ExecError {
  return err instanceof Error && ('code' in err || 'signal' in err);
}

// The version last started per port, so that startKafka() after stopKafka() in a
// fault test brings back the same version without being told again.
const lastVersion = new Map<string, string>();

function envFor(opts: KafkaOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (opts.port !== undefined) {
    env.AUDITE_KAFKA_PORT = String(opts.port);
    env.AUDITE_KAFKA_CONTROLLER_PORT = String(opts.port + 1);
  }
  return env;
}

function portKey(opts: KafkaOptions): string {
  return String(opts.port ?? process.env.AUDITE_KAFKA_PORT ?? 19092);
}

async function kafkaSh(args: string[], opts: KafkaOptions, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await execFileAsync('bash', [script, ...args], {
      cwd: repoRoot,
      env: envFor(opts),
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
      encoding: 'utf8',
    });
    return stdout;
  } catch (err) {
    if (isExecError(err)) {
      const how = err.killed ? `timed out after ${timeoutMs} ms` : `exited with ${String(err.code ?? err.signal)}`;
      const stderr = (err.stderr ?? '').trim();
      throw new Error(`kafka.sh ${args.join(' ')} ${how}${stderr ? `:\n${stderr}` : ''}`, { cause: err });
    }
    throw err;
  }
}

/** Parses `kafka.sh env` (KEY=VALUE lines). */
function parseEnv(stdout: string): KafkaBroker {
  const vars = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq), line.slice(eq + 1).trim());
  }
  const brokers = vars.get('AUDITE_KAFKA_BROKERS');
  const version = vars.get('AUDITE_KAFKA_VERSION');
  if (!brokers || !version) throw new Error(`unexpected output of kafka.sh env: ${JSON.stringify(stdout)}`);
  return { brokers: brokers.split(','), version };
}

/**
 * Starts the broker if it is not already running (a running one is reused) and
 * returns its bootstrap servers. Throws if it cannot be started.
 */
export async function ensureKafka(opts: KafkaOptions = {}): Promise<KafkaBroker> {
  const version = opts.version ?? lastVersion.get(portKey(opts));
  await kafkaSh(version ? ['start', version] : ['start'], opts, START_TIMEOUT_MS);
  const broker = parseEnv(await kafkaSh(['env'], opts, STOP_TIMEOUT_MS));
  lastVersion.set(portKey(opts), broker.version);
  return broker;
}

/** Starts the broker again after stopKafka(), with its data (topics, offsets) intact. */
export async function startKafka(opts: KafkaOptions = {}): Promise<KafkaBroker> {
  return ensureKafka(opts);
}

/** Stops the broker (SIGTERM, then SIGKILL after 30 s); its data is kept. Idempotent. */
export async function stopKafka(opts: KafkaOptions = {}): Promise<void> {
  await kafkaSh(['stop'], opts, STOP_TIMEOUT_MS);
}

/**
 * Reads `topic` from the beginning with Kafka's own console consumer and returns
 * its stdout: one line per record, "headers<TAB>key<TAB>value" ("NO_HEADERS" and
 * "null" when absent). Stops after `maxMessages` records or `timeoutMs` without one.
 */
export async function consoleConsume(topic: string, maxMessages: number, timeoutMs: number, opts: KafkaOptions = {}): Promise<string> {
  return kafkaSh(['console-consumer', topic, '--max-messages', String(maxMessages), '--timeout-ms', String(timeoutMs)], opts, timeoutMs + CONSUMER_OVERHEAD_MS);
}
