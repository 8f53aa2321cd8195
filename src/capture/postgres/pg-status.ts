import { AuditeError, isAuditeError } from '../../errors.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { readOldestTransaction, type OldestTransaction } from '../../postgres/oldest-transaction.ts';
import { qualified } from '../../postgres/quote.ts';
import { DEFAULT_PG_SPEC, readPgStoredSpec } from './pg-capture-spec.ts';
import { planPgEnable } from './pg-enable-plan.ts';
import { DEFAULT_PG_SCHEMA, PG_CURSOR_TABLE, PG_DEAD_LETTER_TABLE, PG_FEED_TABLE } from './pg-feed-schema.ts';
import { readInstalled, trackedSources } from './pg-installed.ts';
import { installError } from './pg-transaction.ts';

export interface PgConsumerStatus {
  consumer: string;
  position: number;
  /** Events in the feed past this consumer's position. */
  lag: number;
  /** Age of the oldest event past the position, in seconds; 0 when caught up. */
  lagSeconds: number;
  /** When the cursor last moved after a delivery (ISO); null when halted, failed or never delivered. */
  lastDeliveryAt: string | null;
  updatedAt: string | null;
  halted: boolean;
  lastError: string | null;
  deadLetters: number;
}

export interface PgStatus {
  schema: string;
  tables: string[];
  stale: string[];
  problems: string[];
  feed: { events: number; headId: number; oldestId: number | null; oldest: string | null; newest: string | null };
  consumers: PgConsumerStatus[];
  /** The running transaction that holds the feed back (events after it wait until it ends); null when none. */
  oldestTransaction: OldestTransaction | null;
}

/** Everything `audite status` shows for a PostgreSQL database. Reads only. */
export async function readPgStatus(client: PgClient, options: { schema?: string } = {}): Promise<PgStatus> {
  const schema = options.schema ?? DEFAULT_PG_SCHEMA;
  try {
    return await readStatus(client, schema);
  } catch (error) {
    throw installError(`cannot read the status of schema ${JSON.stringify(schema)}`, error);
  }
}

async function readStatus(client: PgClient, schema: string): Promise<PgStatus> {
  const installed = await readInstalled(client, schema);
  if (!installed.relations.has(PG_FEED_TABLE))
    throw new AuditeError('NOT_ENABLED', `this database has no change feed in schema ${JSON.stringify(schema)}; run \`audite enable\` first`);
  const problems: string[] = [];
  let stale: string[] = [];
  try {
    const stored = await readPgStoredSpec(client, schema);
    stale = (await planPgEnable(client, schema, stored ?? DEFAULT_PG_SPEC, stored)).stale;
  } catch (error) {
    if (!isAuditeError(error)) throw error;
    problems.push(error.message);
  }
  if (installed.triggers.length === 0) problems.push('capture is disabled: no audite triggers; run `audite enable` to capture changes again');

  const feedTable = qualified(schema, PG_FEED_TABLE);
  const { rows: feedRows } = await client.query<{ events: string; head: string; oldest_id: string | null; oldest: Date | null; newest: Date | null }>(
    `SELECT count(*) AS events, coalesce(max(id), 0) AS head, min(id) AS oldest_id, min(time) AS oldest, max(time) AS newest FROM ${feedTable}`,
  );
  const feed = feedRows[0];
  const headId = Number(feed?.head ?? 0);
  return {
    schema,
    tables: trackedSources(installed),
    stale,
    problems,
    feed: {
      events: Number(feed?.events ?? 0),
      headId,
      oldestId: feed?.oldest_id == null ? null : Number(feed.oldest_id),
      oldest: iso(feed?.oldest ?? null),
      newest: iso(feed?.newest ?? null),
    },
    consumers: installed.relations.has(PG_CURSOR_TABLE) ? await readConsumers(client, schema, installed.relations.has(PG_DEAD_LETTER_TABLE)) : [],
    oldestTransaction: (await readOldestTransaction(client)) ?? null,
  };
}

async function readConsumers(client: PgClient, schema: string, deadLetters: boolean): Promise<PgConsumerStatus[]> {
  const feed = qualified(schema, PG_FEED_TABLE);
  const letters = deadLetters ? `(SELECT count(*) FROM ${qualified(schema, PG_DEAD_LETTER_TABLE)} d WHERE d.consumer = c.consumer)` : '0';
  const { rows } = await client.query<{
    consumer: string;
    position: string;
    updated_at: Date | null;
    halted: boolean;
    last_error: string | null;
    lag: string;
    lag_seconds: number | null;
    dead_letters: string;
  }>(
    `SELECT c.consumer, c.position, c.updated_at, c.halted, c.last_error,
            (SELECT count(*) FROM ${feed} f WHERE f.id > c.position) AS lag,
            (SELECT extract(epoch FROM now() - f.time)::float8 FROM ${feed} f WHERE f.id > c.position ORDER BY f.id LIMIT 1) AS lag_seconds,
            ${letters} AS dead_letters
       FROM ${qualified(schema, PG_CURSOR_TABLE)} c ORDER BY c.consumer`,
  );
  return rows.map((r) => {
    const position = Number(r.position);
    return {
      consumer: r.consumer,
      position,
      lag: Number(r.lag),
      lagSeconds: r.lag_seconds === null ? 0 : Math.max(0, Math.round(r.lag_seconds)),
      lastDeliveryAt: r.halted || r.last_error !== null || position === 0 ? null : iso(r.updated_at),
      updatedAt: iso(r.updated_at),
      halted: r.halted,
      lastError: r.last_error,
      deadLetters: Number(r.dead_letters),
    };
  });
}

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
