import { PG_FEED_TABLE } from '../../capture/postgres/pg-feed-schema.ts';
import { AuditeError } from '../../errors.ts';
import { redactUrl } from '../../postgres/database-url.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { isPgUnavailable, pgErrorCode, permissionError } from '../../postgres/pg-errors.ts';
import { qualified } from '../../postgres/quote.ts';
import type { FeedRow } from '../audit-event.ts';

/** One PostgreSQL change feed: the connection, the schema audite lives in, and the URL for messages. */
export interface PgFeed {
  client: PgClient;
  schema: string;
  /** `"schema"."changefeed"`, quoted. */
  table: string;
  /** The database URL without its password. */
  name: string;
  /** The URL as the operator typed it, password redacted, for hints naming a command to run. */
  url: string;
}

export function pgFeed(client: PgClient, url: string, schema: string): PgFeed {
  const redacted = redactUrl(url);
  return { client, schema, table: qualified(schema, PG_FEED_TABLE), name: redacted, url: redacted };
}

/**
 * The select list of a FeedRow. Text everywhere, whatever the client's type
 * parsers: ids are bigint, images keep exact numbers, time keeps microseconds.
 */
export const PG_FEED_COLUMNS = 'id::text AS id, source, subject, type, extract(epoch FROM time)::text AS time, data::text AS data, context::text AS context';

export interface PgFeedRowText {
  id: string;
  source: string;
  subject: string;
  type: string;
  time: string;
  data: string | null;
  context: string | null;
}

export function toFeedRow(row: PgFeedRowText): FeedRow {
  return { id: toEventId(row.id), source: row.source, subject: row.subject, type: row.type, time: Number(row.time), data: row.data, context: row.context };
}

export function toEventId(text: string): number {
  const id = Number(text);
  if (!Number.isSafeInteger(id)) throw new AuditeError('INTERNAL', `feed event id ${text} is beyond 2^53; audite cannot address it`);
  return id;
}

/** Runs a query, turning a lost server or a missing privilege into the AuditeErrors operators act on. */
export async function pgQuery<R>(feed: PgFeed, text: string, values?: readonly unknown[]): Promise<R[]> {
  try {
    return (await feed.client.query<R>(text, values)).rows;
  } catch (error) {
    throw translatePgError(feed, error);
  }
}

export function translatePgError(feed: PgFeed, error: unknown): unknown {
  if (error instanceof AuditeError) return error;
  if (pgErrorCode(error) === '42501') return permissionError(`cannot read the audit history in ${feed.name}`, error);
  if (isPgUnavailable(error)) {
    return new AuditeError('DB_UNAVAILABLE', `lost the connection to ${feed.name}; check that PostgreSQL is running and try again`, { cause: error });
  }
  return error;
}

/** The set of index names on the feed; NOT_ENABLED when the schema has no feed. */
export async function readPgFeedIndexes(feed: PgFeed): Promise<ReadonlySet<string>> {
  await assertPgEnabled(feed);
  const rows = await pgQuery<{ name: string }>(feed, 'SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1 AND tablename = $2', [
    feed.schema,
    PG_FEED_TABLE,
  ]);
  return new Set(rows.map((r) => r.name));
}

export async function assertPgEnabled(feed: PgFeed): Promise<void> {
  const rows = await pgQuery<{ found: boolean }>(feed, 'SELECT to_regclass($1) IS NOT NULL AS found', [feed.table]);
  if (rows[0]?.found !== true) {
    throw new AuditeError(
      'NOT_ENABLED',
      `${feed.name} has no audite change feed in schema ${JSON.stringify(feed.schema)}; run \`audite enable ${feed.url}\` first (or pass --schema)`,
    );
  }
}

export async function pgFeedRange(feed: PgFeed): Promise<{ first: number; head: number }> {
  const rows = await pgQuery<{ first: string; head: string }>(
    feed,
    `SELECT coalesce((SELECT min(id) FROM ${feed.table}), 0)::text AS first, coalesce((SELECT max(id) FROM ${feed.table}), 0)::text AS head`,
  );
  const row = rows[0] ?? { first: '0', head: '0' };
  return { first: toEventId(row.first), head: toEventId(row.head) };
}

/** As on SQLite: ids name points in feed order; one beyond the head names nothing. */
export async function assertPgEventInRange(feed: PgFeed, id: number): Promise<void> {
  if (!Number.isSafeInteger(id) || id < 1) throw new AuditeError('INVALID_ARGUMENT', `event id must be a positive integer, got ${String(id)}`);
  const { first, head } = await pgFeedRange(feed);
  if (id > head) {
    throw new AuditeError(
      'NOT_FOUND',
      head === 0 ? `event id ${id} is out of range: the feed is empty` : `event id ${id} is out of range: the feed's events are ${first}..${head}`,
    );
  }
}

export async function readPgEventRow(feed: PgFeed, id: number): Promise<FeedRow | undefined> {
  const rows = await pgQuery<PgFeedRowText>(feed, `SELECT ${PG_FEED_COLUMNS} FROM ${feed.table} WHERE id = $1`, [id]);
  return rows[0] === undefined ? undefined : toFeedRow(rows[0]);
}

export async function pgKeyExists(feed: PgFeed, source: string, key: string): Promise<boolean> {
  const rows = await pgQuery(feed, `SELECT 1 FROM ${feed.table} WHERE source = $1 AND subject = $2 LIMIT 1`, [source, key]);
  return rows.length > 0;
}

export async function assertPgKeyExists(feed: PgFeed, source: string, key: string): Promise<void> {
  if (!(await pgKeyExists(feed, source, key))) {
    throw new AuditeError(
      'NOT_FOUND',
      `${source} ${JSON.stringify(key)} has no history: no event for that key was ever recorded (compound keys are written a:b in key order)`,
    );
  }
}

export async function pgSourceInFeed(feed: PgFeed, source: string): Promise<boolean> {
  return (await pgQuery(feed, `SELECT 1 FROM ${feed.table} WHERE source = $1 LIMIT 1`, [source])).length > 0;
}
