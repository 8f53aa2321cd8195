import { FEED_TABLE } from '../capture/feed-schema.ts';
import { AuditeError } from '../errors.ts';
import { assertEnabled } from '../ops/status.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import type { FeedRow } from './audit-event.ts';

/** What a reader must know about this feed before querying it. */
export interface FeedShape {
  /** False for a feed written by Python audite and never enabled by us: it has no context column. */
  hasContext: boolean;
  /** Names of the indexes on the feed. */
  indexes: ReadonlySet<string>;
}

export function readFeedShape(db: SqliteDatabase): FeedShape {
  assertEnabled(db);
  const hasContext = db.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = 'context'").get(FEED_TABLE) !== undefined;
  const indexes = new Set((db.prepare('SELECT name FROM pragma_index_list(?)').all(FEED_TABLE) as { name: string }[]).map((r) => r.name));
  return { hasContext, indexes };
}

/** The select list of a FeedRow; a feed without a context column yields NULL contexts. */
export function feedColumns(shape: FeedShape): string {
  return `id, source, subject, type, time, data, ${shape.hasContext ? 'context' : 'NULL AS context'}`;
}

/**
 * The table's name as the feed spells it (SQLite names are case-insensitive).
 * A dropped table still has a history, so a name known only to the feed is fine.
 */
export function resolveTable(db: SqliteDatabase, name: string): string {
  const live = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE").get(name) as { name: string } | undefined;
  if (live !== undefined) return live.name;
  const fed = db.prepare(`SELECT source FROM ${q(FEED_TABLE)} WHERE source = ? LIMIT 1`).get(name) as { source: string } | undefined;
  if (fed !== undefined) return fed.source;
  throw new AuditeError('UNKNOWN_TABLE', `no table named ${JSON.stringify(name)} in ${db.name}, and the feed has no history for one`);
}

export function keyExists(db: SqliteDatabase, table: string, key: string): boolean {
  return db.prepare(`SELECT 1 FROM ${q(FEED_TABLE)} WHERE source = ? AND subject = ? LIMIT 1`).get(table, key) !== undefined;
}

/** Refuse a key with no event at all: a typo, or a row that never existed while capture was on. */
export function assertKeyExists(db: SqliteDatabase, table: string, key: string): void {
  if (!keyExists(db, table, key)) {
    throw new AuditeError(
      'NOT_FOUND',
      `${table} ${JSON.stringify(key)} has no history: no event for that key was ever recorded (compound keys are written a:b in key order)`,
    );
  }
}

export interface FeedRange {
  first: number;
  head: number;
}

export function feedRange(db: SqliteDatabase): FeedRange {
  // Two subqueries: SQLite answers a lone min() or max() from the b-tree's edge, but scans for both at once.
  const feed = q(FEED_TABLE);
  return db.prepare(`SELECT coalesce((SELECT min(id) FROM ${feed}), 0) AS first, coalesce((SELECT max(id) FROM ${feed}), 0) AS head`).get() as FeedRange;
}

/** Event ids name points in feed order; one beyond the head (or below 1) names nothing. */
export function assertEventInRange(db: SqliteDatabase, id: number): void {
  if (!Number.isSafeInteger(id) || id < 1) throw new AuditeError('INVALID_ARGUMENT', `event id must be a positive integer, got ${String(id)}`);
  const { first, head } = feedRange(db);
  if (id > head) {
    throw new AuditeError(
      'NOT_FOUND',
      head === 0 ? `event id ${id} is out of range: the feed is empty` : `event id ${id} is out of range: the feed's events are ${first}..${head}`,
    );
  }
}

export function readEventRow(db: SqliteDatabase, shape: FeedShape, id: number): FeedRow | undefined {
  return db.prepare(`SELECT ${feedColumns(shape)} FROM ${q(FEED_TABLE)} WHERE id = ?`).get(id) as FeedRow | undefined;
}
