import { pgHistoryIndexes } from '../../capture/postgres/pg-feed-schema.ts';
import type { HistoryFilter } from '../history-query.ts';

const [SOURCE_SUBJECT, TIME, ACTOR] = pgHistoryIndexes('audite').map((index) => index.name) as [string, string, string];
export const PG_SOURCE_SUBJECT_INDEX = SOURCE_SUBJECT;
export const PG_TIME_INDEX = TIME;
export const PG_ACTOR_INDEX = ACTOR;

/** The history index a filter's best plan needs, when the feed lacks it (the same reasoning as SQLite's missingIndexFor). */
export function missingPgIndexFor(indexes: ReadonlySet<string>, filter: HistoryFilter): string | undefined {
  const has = (name: string): boolean => indexes.has(name);
  const ranged = filter.since !== undefined || filter.until !== undefined;
  const actors = (filter.actors?.length ?? 0) > 0;
  if ((filter.keys?.length ?? 0) > 0 || ((filter.tables?.length ?? 0) > 0 && !actors && !ranged)) {
    return has(PG_SOURCE_SUBJECT_INDEX) ? undefined : PG_SOURCE_SUBJECT_INDEX;
  }
  if (actors) return has(PG_ACTOR_INDEX) || (ranged && has(PG_TIME_INDEX)) ? undefined : PG_ACTOR_INDEX;
  if (ranged) return has(PG_TIME_INDEX) ? undefined : PG_TIME_INDEX;
  return undefined;
}

export function pgIndexHint(url: string, index: string): string {
  return `hint: the feed has no index ${index}, so this query reads every event; \`audite enable ${url} --history-indexes\` adds the audit indexes`;
}
