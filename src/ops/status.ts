import { readStoredSpec, DEFAULT_SPEC } from '../capture/capture-spec.ts';
import { planEnable } from '../capture/enable-plan.ts';
import { FEED_TABLE } from '../capture/feed-schema.ts';
import { readSnapshotState } from '../capture/snapshot-progress.ts';
import { AuditeError, isAuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { readConsumerReports, type ConsumerReport } from './consumer-status.ts';
import { tableExists } from '../sqlite/schema-queries.ts';

export interface ConsumerStatus extends Omit<ConsumerReport, 'lagEvents'> {
  /** Events in the feed past this consumer's position. */
  lag: number;
}

export interface SnapshotStatus {
  id: string;
  tables: string[];
  rows: number;
  startedAt: string;
  /** null while unfinished: `audite snapshot` resumes it. */
  finishedAt: string | null;
}

export interface Status {
  tables: string[];
  stale: string[];
  problems: string[];
  feed: { events: number; headId: number; oldestId: number | null; oldest: string | null; newest: string | null };
  consumers: ConsumerStatus[];
  /** The last snapshot run, if any. */
  snapshot: SnapshotStatus | null;
}

export function assertEnabled(db: SqliteDatabase): void {
  if (!tableExists(db, FEED_TABLE)) {
    throw new AuditeError('NOT_ENABLED', `${db.name} has no change feed; run \`audite enable ${db.name}\` first`);
  }
}

export function readStatus(db: SqliteDatabase): Status {
  assertEnabled(db);
  const tables = (
    db
      .prepare("SELECT DISTINCT tbl_name AS name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'audite\\_audit\\_%' ESCAPE '\\' ORDER BY 1")
      .all() as { name: string }[]
  ).map((r) => r.name);
  const problems: string[] = [];
  let stale: string[] = [];
  try {
    stale = planEnable(db, readStoredSpec(db) ?? DEFAULT_SPEC).stale;
  } catch (error) {
    if (!isAuditeError(error)) throw error;
    problems.push(error.message);
  }
  const feed = db
    .prepare(`SELECT count(*) AS events, coalesce(max(id), 0) AS headId, min(id) AS oldestId, min(time) AS oldest, max(time) AS newest FROM ${q(FEED_TABLE)}`)
    .get() as { events: number; headId: number; oldestId: number | null; oldest: number | null; newest: number | null };
  const consumers = readConsumerReports(db, feed.headId, { exactLag: true }).map(({ lagEvents, ...c }) => ({ ...c, lag: lagEvents }));
  const run = readSnapshotState(db);
  return {
    tables,
    stale,
    problems,
    feed: { events: feed.events, headId: feed.headId, oldestId: feed.oldestId, oldest: isoOrNull(feed.oldest), newest: isoOrNull(feed.newest) },
    consumers,
    snapshot:
      run === undefined
        ? null
        : {
            id: run.id,
            tables: run.tables,
            rows: run.rows,
            startedAt: new Date(run.startedAt).toISOString(),
            finishedAt: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
          },
  };
}

function isoOrNull(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}
