import { z } from 'zod';

/**
 * The daemon's configuration: one schema gives the TypeScript type, the
 * runtime validation, and (via `z.toJSONSchema`) config/audite.schema.json.
 * Sources, in order of precedence: CLI flags, AUDITE_* environment variables,
 * the config file (YAML or JSON), these defaults.
 */

/** Secrets never sit in the config file: name the environment variable that holds them. */
const fromEnv = z.object({ env: z.string().min(1).describe('name of the environment variable holding the value') }).strict();

const headerValue = z.union([z.string(), fromEnv]);

const permanentFailurePolicy = z
  .enum(['halt', 'dead-letter', 'skip'])
  .default('halt')
  .describe(
    'what to do with an event the sink rejects for good (4xx, too large, invalid): stop this consumer, store it in audite_deadletter, or log and move on',
  );

const retry = z
  .object({
    minDelayMs: z.number().int().positive().default(500),
    maxDelayMs: z.number().int().positive().default(60_000),
    maxRetries: z.number().int().nonnegative().nullable().default(null).describe('null: retry for ever, so a receiver down for an hour loses nothing'),
  })
  .strict()
  .prefault({});

const sinkBase = {
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only')
    .describe('consumer name: one cursor row per sink in audite_cursor')
    .optional(),
  onPermanentFailure: permanentFailurePolicy,
  batchSize: z.number().int().positive().max(100_000).optional().describe('events per batch; defaults to source.batchSize'),
};

export const stdoutSinkSchema = z.object({ type: z.literal('stdout'), ...sinkBase }).strict();

export const fileSinkSchema = z.object({ type: z.literal('file'), path: z.string().min(1), ...sinkBase }).strict();

export const httpSinkSchema = z
  .object({
    type: z.literal('http'),
    ...sinkBase,
    url: z.url({ protocol: /^https?$/ }),
    method: z.enum(['POST', 'PUT']).default('POST'),
    mode: z.enum(['binary', 'structured', 'batch']).default('binary'),
    headers: z.record(z.string(), headerValue).default({}),
    timeoutMs: z.number().int().positive().default(10_000),
    retry,
    signing: z
      .object({ secret: fromEnv.describe('Standard Webhooks secret (whsec_…)') })
      .strict()
      .optional(),
  })
  .strict();

export const kafkaSinkSchema = z
  .object({
    type: z.literal('kafka'),
    ...sinkBase,
    brokers: z.array(z.string().min(1)).min(1),
    clientId: z.string().default('audite'),
    topic: z.string().min(1).describe('fixed topic, or a template such as audite.{table}'),
    createTopics: z
      .object({ partitions: z.number().int().positive().default(1), replicationFactor: z.number().int().positive().default(1) })
      .strict()
      .optional(),
    mode: z.enum(['binary', 'structured']).default('binary'),
    tombstones: z.boolean().default(false).describe('follow each delete with a null-value message so compacted topics drop the row'),
    compression: z.enum(['none', 'gzip']).default('none'),
    maxBatchBytes: z.number().int().positive().default(1_000_000),
    ssl: z.boolean().default(false),
    sasl: z
      .object({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string(), password: fromEnv })
      .strict()
      .optional(),
    retry,
  })
  .strict();

/** `forever`, or a duration: 30s, 15m, 12h, 7d, 2w. */
export const RETENTION_WINDOW = /^(forever|\d{1,9}(s|m|h|d|w))$/;

const retentionWindow = z
  .string()
  .regex(RETENTION_WINDOW, 'forever, or a duration such as 30s, 15m, 12h, 7d, 2w')
  .default('forever')
  .describe('prune events every consumer has acknowledged once they are older than this; forever keeps the whole feed (it is also the audit history)');

export const sinkSchema = z.discriminatedUnion('type', [stdoutSinkSchema, fileSinkSchema, httpSinkSchema, kafkaSinkSchema]);

export const configSchema = z
  .object({
    database: z
      .string()
      .min(1)
      .describe('the database to relay (must already be enabled): a SQLite file path, or a postgres:// URL (its password is never logged)'),
    source: z
      .object({
        batchSize: z.number().int().positive().max(100_000).default(500),
        maxBatchBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024)
          .describe('a batch also ends once its rows hold this many bytes of data (at least one row), so memory stays flat whatever the row sizes'),
        pollIntervalMs: z
          .number()
          .int()
          .positive()
          .max(10_000)
          .default(5)
          .describe(
            'how often an idle consumer checks for new commits: PRAGMA data_version on SQLite; on PostgreSQL the feed sequence (and, when it moved, the snapshot horizon)',
          ),
        busyTimeoutMs: z
          .number()
          .int()
          .nonnegative()
          .default(5000)
          .describe(
            "SQLite: how long start-up waits for the app's write lock; once running, cursor writes wait at most 250 ms and retry, so the relay never stalls",
          ),
        startFrom: z
          .enum(['beginning', 'end'])
          .default('beginning')
          .describe('where a new consumer starts: the whole feed, or only events committed from now on'),
        postgres: z
          .object({
            schema: z
              .string()
              .min(1)
              .max(63)
              .default('audite')
              .describe('PostgreSQL: the schema `audite enable` installed the feed, cursor and dead-letter tables in'),
            heldBackThresholdMs: z
              .number()
              .int()
              .positive()
              .default(60_000)
              .describe(
                'PostgreSQL: /readyz reports not ready (and a warning is logged) once a running transaction has held the feed back this long; its events are delayed, never lost',
              ),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    cloudevents: z
      .object({ source: z.string().min(1).default('{table}').describe('URI-reference template for the CloudEvents source; {table} is replaced') })
      .strict()
      .prefault({}),
    sinks: z.array(sinkSchema).default([{ type: 'stdout', onPermanentFailure: 'halt' }]),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
        pretty: z.enum(['auto', 'always', 'never']).default('auto').describe('human-readable logs; auto = when stderr is a TTY'),
      })
      .strict()
      .prefault({}),
    shutdown: z
      .object({ graceMs: z.number().int().nonnegative().default(10_000).describe('how long a stop waits for in-flight batches before abandoning them') })
      .strict()
      .prefault({}),
    ops: z
      .object({
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .nullable()
          .default(null)
          .describe('port for /healthz, /readyz and /metrics; null disables, 0 picks a free port'),
        host: z.string().default('127.0.0.1').describe('interface to bind; the default keeps the endpoint off the network'),
      })
      .strict()
      .prefault({}),
    retention: z
      .object({
        keep: retentionWindow,
        intervalMs: z.number().int().positive().default(60_000).describe('how often the daemon prunes (when keep is not forever)'),
        batchSize: z.number().int().positive().max(100_000).default(1000).describe('events deleted per write transaction'),
        pauseMs: z.number().int().nonnegative().max(10_000).default(10).describe("pause between two delete transactions, so the app's writers get the lock"),
      })
      .strict()
      .prefault({}),
    schema: z
      .object({
        autoRefresh: z
          .boolean()
          .default(false)
          .describe('rebuild stale triggers (and, in all-tables mode, capture new tables) as soon as the schema changes, as `audite enable` would'),
        checkIntervalMs: z
          .number()
          .int()
          .positive()
          .default(1000)
          .describe('how often the daemon compares PRAGMA schema_version (SQLite; on PostgreSQL `audite status` reports drift)'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
export type SinkConfig = z.infer<typeof sinkSchema>;
export type HttpSinkConfig = z.infer<typeof httpSinkSchema>;
export type KafkaSinkConfig = z.infer<typeof kafkaSinkSchema>;
export type HeaderValue = z.infer<typeof headerValue>;
