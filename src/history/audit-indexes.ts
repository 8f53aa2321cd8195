import { FEED_TABLE, SOURCE_SUBJECT_INDEX, TIME_INDEX } from '../capture/feed-schema.ts';
import { AuditeError, isBusy } from '../errors.ts';
import { assertEnabled } from '../ops/status.ts';
import { lockedError } from '../sqlite/open-database.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { ACTOR_EXPR, readFeedShape, type FeedShape } from './feed-access.ts';
import type { HistoryFilter } from './history-query.ts';

export const ACTOR_INDEX = 'audite_changefeed_actor_time_idx';

/**
 * One actor's changes over a time range: an expression index on the context's
 * actor, then time (the rowid rides along). Partial on `context IS NOT NULL`,
 * so events written without a context (most of them, in apps that never set
 * one) cost the index nothing: the writer only evaluates that test. Contexts
 * come from audite_context's generated column, so they are always valid JSON.
 */
export const actorIndexSql = `CREATE INDEX IF NOT EXISTS ${q(ACTOR_INDEX)} ON ${q(FEED_TABLE)} (${ACTOR_EXPR}, time) WHERE context IS NOT NULL`;
const sourceSubjectIndexSql = `CREATE INDEX IF NOT EXISTS ${q(SOURCE_SUBJECT_INDEX)} ON ${q(FEED_TABLE)} (source, subject, id)`;
const timeIndexSql = `CREATE INDEX IF NOT EXISTS ${q(TIME_INDEX)} ON ${q(FEED_TABLE)} (time, id)`;

/**
 * Creates every index the audit queries use (idempotent), in one write
 * transaction. The actor index needs the context column, which `enable` adds
 * to Python audite's feeds; without it that index is skipped. Returns the
 * names created now.
 */
export function ensureAuditIndexes(db: SqliteDatabase): string[] {
  assertEnabled(db);
  if (db.inTransaction) throw new AuditeError('DB_IN_TRANSACTION', 'cannot create the audit indexes inside an open transaction; COMMIT or ROLLBACK first');
  const shape = readFeedShape(db);
  const wanted: [string, string][] = [
    [SOURCE_SUBJECT_INDEX, sourceSubjectIndexSql],
    [TIME_INDEX, timeIndexSql],
  ];
  if (shape.hasContext) wanted.push([ACTOR_INDEX, actorIndexSql]);
  const missing = wanted.filter(([name]) => !shape.indexes.has(name));
  if (missing.length === 0) return [];
  try {
    db.exec('BEGIN IMMEDIATE');
    for (const [, sql] of missing) db.exec(sql);
    db.exec('COMMIT');
  } catch (cause) {
    if (db.inTransaction) db.exec('ROLLBACK');
    if (isBusy(cause)) throw lockedError(db.name, cause);
    throw cause;
  }
  return missing.map(([name]) => name);
}

/** The index a filter's best plan needs, when it is missing: the CLI turns this into a hint. */
export function missingIndexFor(shape: FeedShape, filter: HistoryFilter): string | undefined {
  const has = (name: string): boolean => shape.indexes.has(name);
  const ranged = filter.since !== undefined || filter.until !== undefined;
  if ((filter.keys?.length ?? 0) > 0 || ((filter.tables?.length ?? 0) > 0 && (filter.actors?.length ?? 0) === 0 && !ranged)) {
    return has(SOURCE_SUBJECT_INDEX) ? undefined : SOURCE_SUBJECT_INDEX;
  }
  if ((filter.actors?.length ?? 0) > 0 && shape.hasContext) {
    if (has(ACTOR_INDEX) || (ranged && has(TIME_INDEX))) return undefined;
    return ACTOR_INDEX;
  }
  if (ranged) return has(TIME_INDEX) ? undefined : TIME_INDEX;
  return undefined;
}

export function indexHint(file: string, index: string): string {
  return `hint: the feed has no index ${index}, so this query reads every event; \`audite enable ${file} --history-indexes\` adds the audit indexes`;
}
