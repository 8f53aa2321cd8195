import { FEED_TABLE } from '../capture/feed-schema.ts';
import { AuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { decodeEvent, type AuditEvent, type ChangeOp, type FeedRow } from './audit-event.ts';
import { ACTOR_EXPR } from '../capture/feed-schema.ts';
import { assertKeyExists, feedColumns, readFeedShape, resolveTable, type FeedShape } from './feed-access.ts';
import { touchesAny } from './row-diff.ts';

export interface HistoryFilter {
  /** Only these tables (default: all). */
  tables?: readonly string[];
  /** Only these records (subjects); needs exactly one table. Each must have some history. */
  keys?: readonly string[];
  /** Only changes made under these actors (context.actor). */
  actors?: readonly string[];
  /** Unix seconds, inclusive. */
  since?: number;
  /** Unix seconds, exclusive: since/until of consecutive days never overlap. */
  until?: number;
  ops?: readonly ChangeOp[];
  /** Only events that touched one of these fields (changed by an update, present in a create or delete). */
  fields?: readonly string[];
  /** Default: oldest first, in feed (commit) order. */
  newestFirst?: boolean;
  /** At most this many events (after every filter). */
  limit?: number;
}

export interface HistoryQuery {
  sql: string;
  params: unknown[];
  /** Filters applied to decoded events, after SQL (so LIMIT cannot go into the SQL). */
  fields: ReadonlySet<string> | undefined;
  limit: number | undefined;
}

/**
 * The SQL for a filter, with table names resolved. Each filter shape meets an
 * index when `enable --history-indexes` (plus ensureAuditIndexes) ran:
 *   table + key       → (source, subject, id): rows come out in id order, no sort
 *   actor [+ range]   → (actor, time) partial index on context IS NOT NULL
 *   time range only   → (time, id)
 * The predicates are spelled exactly as the indexes are (see audit-indexes.ts).
 */
export function buildHistoryQuery(db: SqliteDatabase, filter: HistoryFilter, shape: FeedShape = readFeedShape(db)): HistoryQuery {
  const where: string[] = [];
  const params: unknown[] = [];
  const tables = (filter.tables ?? []).map((t) => resolveTable(db, t));
  const keys = filter.keys ?? [];
  if (keys.length > 0) {
    if (tables.length !== 1) throw new AuditeError('INVALID_ARGUMENT', 'record keys need exactly one table: keys of different tables look alike');
    for (const key of keys) assertKeyExists(db, tables[0] as string, key);
  }
  const inList = (column: string, values: readonly unknown[]): void => {
    where.push(values.length === 1 ? `${column} = ?` : `${column} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  if (tables.length > 0) inList('source', tables);
  if (keys.length > 0) inList('subject', keys);
  if (filter.actors !== undefined && filter.actors.length > 0) {
    if (shape.hasContext) {
      // Matches the partial index's WHERE term word for word, so the planner may use it.
      where.push('context IS NOT NULL');
      inList(ACTOR_EXPR, filter.actors);
    } else {
      where.push('0'); // Python audite recorded no actors.
    }
  }
  if (filter.since !== undefined) {
    where.push('time >= ?');
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push('time < ?');
    params.push(filter.until);
  }
  if (filter.ops !== undefined && filter.ops.length > 0) {
    where.push(`type IN (${filter.ops.map(() => "source || '.' || ?").join(', ')})`);
    params.push(...filter.ops);
  }
  const fields = filter.fields !== undefined && filter.fields.length > 0 ? new Set(filter.fields) : undefined;
  if (filter.limit !== undefined && (!Number.isSafeInteger(filter.limit) || filter.limit < 0)) {
    throw new AuditeError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${String(filter.limit)}`);
  }
  let sql = `SELECT ${feedColumns(shape)} FROM ${q(FEED_TABLE)}`;
  if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
  sql += ` ORDER BY id${filter.newestFirst ? ' DESC' : ''}`;
  if (filter.limit !== undefined && fields === undefined) {
    sql += ' LIMIT ?';
    params.push(filter.limit);
  }
  return { sql, params, fields, limit: filter.limit };
}

/**
 * Streams matching events. better-sqlite3 keeps the connection busy while the
 * generator is open: finish (or return from) it before running other statements.
 */
export function* iterateHistory(db: SqliteDatabase, filter: HistoryFilter = {}): Generator<AuditEvent> {
  const query = buildHistoryQuery(db, filter);
  if (query.limit === 0) return;
  let count = 0;
  for (const row of db.prepare(query.sql).iterate(...query.params)) {
    const event = decodeEvent(row as FeedRow);
    if (query.fields !== undefined && !touchesAny(event, query.fields)) continue;
    yield event;
    count += 1;
    if (query.limit !== undefined && count >= query.limit) return;
  }
}

export function queryHistory(db: SqliteDatabase, filter: HistoryFilter = {}): AuditEvent[] {
  return [...iterateHistory(db, filter)];
}

/** Every event of one record, oldest first unless newestFirst. NOT_FOUND when the key has no history. */
export function recordHistory(db: SqliteDatabase, table: string, key: string, options: Omit<HistoryFilter, 'tables' | 'keys'> = {}): AuditEvent[] {
  return queryHistory(db, { ...options, tables: [table], keys: [key] });
}

/** What one actor changed in [since, until), over all tables or the given ones. */
export function actorChanges(db: SqliteDatabase, actor: string, options: Omit<HistoryFilter, 'actors'> = {}): AuditEvent[] {
  return queryHistory(db, { ...options, actors: [actor] });
}
