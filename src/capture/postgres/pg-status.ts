import { AuditeError, isAuditeError } from '../../errors.ts';
import type { ConsumerStatus } from '../../ops/status.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { readOldestTransaction, type OldestTransaction } from '../../postgres/oldest-transaction.ts';
import { qualified } from '../../postgres/quote.ts';
import { readPgConsumerReports } from '../../source/postgres/pg-reports.ts';
import { DEFAULT_PG_SPEC, readPgStoredSpec } from './pg-capture-spec.ts';
import { planPgEnable } from './pg-enable-plan.ts';
import { DEFAULT_PG_SCHEMA, PG_CURSOR_TABLE, PG_DEAD_LETTER_TABLE, PG_FEED_TABLE } from './pg-feed-schema.ts';
import { readInstalled, trackedSources } from './pg-installed.ts';
import { installError } from './pg-transaction.ts';

/** As on SQLite (ops/status.ts): a consumer report with its exact lag in events. */
export type PgConsumerStatus = ConsumerStatus;

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
    consumers: installed.relations.has(PG_CURSOR_TABLE) ? await readConsumers(client, schema, installed.relations.has(PG_DEAD_LETTER_TABLE), headId) : [],
    oldestTransaction: (await readOldestTransaction(client)) ?? null,
  };
}

async function readConsumers(client: PgClient, schema: string, hasDeadLetters: boolean, headId: number): Promise<PgConsumerStatus[]> {
  const names = {
    feed: qualified(schema, PG_FEED_TABLE),
    cursor: qualified(schema, PG_CURSOR_TABLE),
    deadLetter: hasDeadLetters ? qualified(schema, PG_DEAD_LETTER_TABLE) : null,
  };
  const reports = await readPgConsumerReports(client, names, headId, { exactLag: true });
  return reports.map(({ lagEvents, ...c }) => ({ ...c, lag: lagEvents }));
}

function iso(value: Date | string | null): string | null {
  if (value === null) return null;
  return (value instanceof Date ? value : new Date(value)).toISOString();
}
