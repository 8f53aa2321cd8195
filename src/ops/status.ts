import { readStoredSpec, DEFAULT_SPEC } from '../capture/capture-spec.ts';
import { planEnable } from '../capture/enable-plan.ts';
import { CURSOR_TABLE, FEED_TABLE } from '../capture/feed-schema.ts';
import { AuditeError, isAuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';

export interface ConsumerStatus {
  consumer: string;
  position: number;
  /** Events in the feed past this consumer's position. */
  lag: number;
  updatedAt: string | null;
}

export interface Status {
  tables: string[];
  stale: string[];
  problems: string[];
  feed: { events: number; headId: number; oldest: string | null; newest: string | null };
  consumers: ConsumerStatus[];
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
    .prepare(`SELECT count(*) AS events, coalesce(max(id), 0) AS headId, min(time) AS oldest, max(time) AS newest FROM ${q(FEED_TABLE)}`)
    .get() as { events: number; headId: number; oldest: number | null; newest: number | null };
  const consumers = tableExists(db, CURSOR_TABLE)
    ? (
        db.prepare(`SELECT consumer, position, updated_at AS updatedAt FROM ${q(CURSOR_TABLE)} ORDER BY consumer`).all() as {
          consumer: string;
          position: number;
          updatedAt: number | null;
        }[]
      ).map((c) => ({
        consumer: c.consumer,
        position: c.position,
        lag: (db.prepare(`SELECT count(*) AS n FROM ${q(FEED_TABLE)} WHERE id > ?`).get(c.position) as { n: number }).n,
        updatedAt: c.updatedAt === null ? null : new Date(c.updatedAt).toISOString(),
      }))
    : [];
  return {
    tables,
    stale,
    problems,
    feed: { events: feed.events, headId: feed.headId, oldest: isoOrNull(feed.oldest), newest: isoOrNull(feed.newest) },
    consumers,
  };
}

function isoOrNull(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}

export function tableExists(db: SqliteDatabase, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined;
}
