import { ACTOR_INDEX, historyIndexes, SOURCE_SUBJECT_INDEX, TIME_INDEX, type SchemaObject } from '../capture/feed-schema.ts';
import { AuditeError } from '../errors.ts';
import { assertEnabled } from '../ops/status.ts';
import { writeTransaction } from '../sqlite/schema-queries.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { readFeedShape, type FeedShape } from './feed-access.ts';
import type { HistoryFilter } from './history-query.ts';

export { ACTOR_INDEX };

/** The actor index's statement, for callers that print or run it themselves. */
export const actorIndexSql = (historyIndexes.find((i) => i.name === ACTOR_INDEX) as SchemaObject).sql;

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
  // The actor index is on the context column, which Python audite's feeds lack until `enable` adds it.
  const wanted = historyIndexes.filter((index) => shape.hasContext || index.name !== ACTOR_INDEX);
  const missing = wanted.filter((index) => !shape.indexes.has(index.name));
  if (missing.length === 0) return [];
  writeTransaction(db, () => {
    for (const index of missing) db.exec(index.sql);
  });
  return missing.map((index) => index.name);
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
