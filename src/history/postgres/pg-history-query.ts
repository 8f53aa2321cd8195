import { AuditeError } from '../../errors.ts';
import { quoteIdent as q } from '../../postgres/quote.ts';
import type { AuditEvent } from '../audit-event.ts';
import type { HistoryFilter, HistoryQuery } from '../history-query.ts';
import { touchesAny } from '../row-diff.ts';
import { decodePgEvent, type ColumnOrder } from './pg-events.ts';
import { assertPgEnabled, assertPgKeyExists, PG_FEED_COLUMNS, toFeedRow, translatePgError, type PgFeed, type PgFeedRowText } from './pg-feed.ts';
import { resolvePgSource } from './pg-tables.ts';

/** The actor as the partial index `changefeed_actor_time_idx` spells it (see pg-feed-schema.ts). */
export const PG_ACTOR_EXPR = "(context->>'actor')";

/**
 * The SQL for a filter, tables resolved and keys checked. Each shape meets
 * one of the opt-in history indexes (pgHistoryIndexes):
 *   table + key       → (source, subject, id)
 *   actor [+ range]   → ((context->>'actor'), time) WHERE context IS NOT NULL
 *   time range only   → (time, id)
 * A record's history also holds its table's TRUNCATE events (subject ''),
 * which removed it as surely as a DELETE. Times are unix seconds, compared as
 * timestamptz: since inclusive, until exclusive, so one second on SQLite
 * (which stamps whole seconds) is the same second here.
 */
export async function buildPgHistoryQuery(feed: PgFeed, filter: HistoryFilter): Promise<HistoryQuery> {
  await assertPgEnabled(feed);
  const where: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown, cast = ''): string => {
    params.push(value);
    return `$${params.length}${cast}`;
  };
  const tables: string[] = [];
  for (const table of filter.tables ?? []) tables.push(await resolvePgSource(feed, table));
  const keys = filter.keys ?? [];
  if (keys.length > 0) {
    if (tables.length !== 1) throw new AuditeError('INVALID_ARGUMENT', 'record keys need exactly one table: keys of different tables look alike');
    for (const key of keys) await assertPgKeyExists(feed, tables[0] as string, key);
  }
  const equalsAny = (column: string, values: readonly string[]): string =>
    values.length === 1 ? `${column} = ${param(values[0])}` : `${column} = ANY(${param(values, '::text[]')})`;
  if (tables.length > 0) where.push(equalsAny('source', tables));
  if (keys.length > 0) {
    // One index range per subject, the table's truncations ('' ) among them.
    where.push(`subject = ANY(${param([...keys, ''], '::text[]')})`);
    if (!keys.includes('')) where.push(`(subject <> '' OR type = source || '.truncated')`);
  }
  if (filter.actors !== undefined && filter.actors.length > 0) {
    // Word for word the partial index's predicate and expression, so the planner can use it.
    where.push('context IS NOT NULL');
    where.push(equalsAny(PG_ACTOR_EXPR, filter.actors));
  }
  if (filter.since !== undefined) where.push(`time >= to_timestamp(${param(seconds(filter.since, 'since'), '::float8')})`);
  if (filter.until !== undefined) where.push(`time < to_timestamp(${param(seconds(filter.until, 'until'), '::float8')})`);
  if (filter.ops !== undefined && filter.ops.length > 0) {
    where.push(`type IN (${filter.ops.map((op) => `source || '.' || ${param(op, '::text')}`).join(', ')})`);
  }
  const fields = filter.fields !== undefined && filter.fields.length > 0 ? new Set(filter.fields) : undefined;
  if (filter.limit !== undefined && (!Number.isSafeInteger(filter.limit) || filter.limit < 0)) {
    throw new AuditeError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${String(filter.limit)}`);
  }
  let sql = `SELECT ${PG_FEED_COLUMNS} FROM ${feed.table}`;
  if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
  sql += ` ORDER BY id${filter.newestFirst ? ' DESC' : ''}`;
  if (filter.limit !== undefined && fields === undefined) sql += ` LIMIT ${param(filter.limit, '::bigint')}`;
  return { sql, params, fields, limit: filter.limit };
}

function seconds(value: number, what: string): number {
  if (!Number.isFinite(value)) throw new AuditeError('INVALID_ARGUMENT', `${what} must be a time in unix seconds, got ${String(value)}`);
  return value;
}

const CURSOR = q('audite_history');
const BATCH = 500;

/**
 * Streams matching events through a cursor in a read-only transaction, so a
 * long history never sits in memory whole. Other queries may run on the same
 * connection between events; breaking out of the loop closes the cursor.
 */
export async function* iteratePgHistory(feed: PgFeed, filter: HistoryFilter, order: ColumnOrder): AsyncGenerator<AuditEvent> {
  const query = await buildPgHistoryQuery(feed, filter);
  if (query.limit === 0) return;
  const { client } = feed;
  let count = 0;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`DECLARE ${CURSOR} NO SCROLL CURSOR FOR ${query.sql}`, query.params);
    for (;;) {
      const { rows } = await client.query<PgFeedRowText>(`FETCH ${BATCH} FROM ${CURSOR}`);
      for (const row of rows) {
        const event = await decodePgEvent(toFeedRow(row), order);
        if (query.fields !== undefined && !touchesAny(event, query.fields)) continue;
        yield event;
        count += 1;
        if (query.limit !== undefined && count >= query.limit) return;
      }
      if (rows.length < BATCH) return;
    }
  } catch (error) {
    throw translatePgError(feed, error);
  } finally {
    // Ends the transaction and with it the cursor; a lost connection has nothing left to end.
    await client.query('ROLLBACK').catch(() => {});
  }
}
