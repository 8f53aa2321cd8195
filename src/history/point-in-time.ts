import { FEED_TABLE } from '../capture/feed-schema.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { decodeEvent, type AuditEvent, type FeedRow } from './audit-event.ts';
import { assertEventInRange, assertKeyExists, feedColumns, readFeedShape, resolveTable } from './feed-access.ts';
import type { ParseOptions, RowImage } from './feed-json.ts';
import { formatTime } from './time-input.ts';

/** A point in the feed: right after event `eventId`, or after every event stamped at or before `time` (unix seconds). */
export type AsOf = { eventId: number } | { time: number };

export type RowVersion =
  | {
      exists: true;
      /** The captured columns (excluded columns are not in the feed). */
      row: RowImage;
      /** The event whose image this is. */
      event: AuditEvent;
      /**
       * 'new': the image the event wrote. 'old': the row predates that event, the
       * first one recorded for it (capture began later), so its before-image is the state.
       */
      image: 'new' | 'old';
    }
  | {
      exists: false;
      /** 'deleted': `event` removed it. 'not-yet-created': `event`, later, created it. */
      why: 'deleted' | 'not-yet-created';
      event: AuditEvent;
    };

/**
 * The state of one record as of a point in time, rebuilt from the feed: the
 * last event at or before the point gives it (its new image, or "did not
 * exist" for a delete); with none, the first event after the point does (its
 * old image, or "did not exist yet" for a create). Deleted rows work too.
 * NOT_FOUND when the key has no history, or the event id is beyond the feed.
 */
export function rowAsOf(db: SqliteDatabase, table: string, key: string, at: AsOf, options: ParseOptions = {}): RowVersion {
  const shape = readFeedShape(db);
  const source = resolveTable(db, table);
  assertKeyExists(db, source, key);
  const byId = 'eventId' in at;
  if (byId) assertEventInRange(db, at.eventId);
  const point = byId ? at.eventId : at.time;
  const column = byId ? 'id' : 'time';
  const select = `SELECT ${feedColumns(shape)} FROM ${q(FEED_TABLE)} WHERE source = ? AND subject = ? AND ${column}`;
  const before = db.prepare(`${select} <= ? ORDER BY id DESC LIMIT 1`).get(source, key, point) as FeedRow | undefined;
  if (before !== undefined) {
    const event = decodeEvent(before, options);
    if (event.op === 'deleted') return { exists: false, why: 'deleted', event };
    return { exists: true, row: event.new ?? {}, event, image: 'new' };
  }
  // The key has history, so some event lies after the point.
  const after = db.prepare(`${select} > ? ORDER BY id LIMIT 1`).get(source, key, point) as FeedRow;
  const event = decodeEvent(after, options);
  if (event.op === 'created') return { exists: false, why: 'not-yet-created', event };
  return { exists: true, row: event.old ?? {}, event, image: 'old' };
}

export function describeAsOf(at: AsOf): string {
  return 'eventId' in at ? `event ${at.eventId}` : formatTime(at.time);
}
