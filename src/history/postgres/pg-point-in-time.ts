import type { ParseOptions } from '../feed-json.ts';
import type { AsOf, RowVersion } from '../point-in-time.ts';
import { decodePgEvent, type ColumnOrder } from './pg-events.ts';
import { assertPgEventInRange, assertPgKeyExists, PG_FEED_COLUMNS, pgQuery, toFeedRow, type PgFeed, type PgFeedRowText } from './pg-feed.ts';
import { resolvePgSource } from './pg-tables.ts';

type ImageRow = PgFeedRowText & { new_image: string | null; old_image: string | null };

/** A RowVersion with the image it came from as the feed stores it (jsonb text, numbers exact), for writing it back. */
export type PgRowVersion = RowVersion & { source: string; imageText: string | null };

/**
 * The state of one record as of an event id or a time, as on SQLite: the last
 * event at or before the point gives it; with none, the first one after it
 * (its old image, or "not yet created"). A TRUNCATE of the table at or before
 * the point, after the record's last change, means the row was gone. A time
 * is unix seconds and covers that whole second, as SQLite's whole-second
 * stamps do.
 */
export async function pgRowAsOf(feed: PgFeed, table: string, key: string, at: AsOf, order: ColumnOrder, options: ParseOptions = {}): Promise<PgRowVersion> {
  const source = await resolvePgSource(feed, table);
  await assertPgKeyExists(feed, source, key);
  const byId = 'eventId' in at;
  if (byId) await assertPgEventInRange(feed, at.eventId);
  const point = byId ? `id <= $3::bigint` : `time < to_timestamp($3::float8 + 1)`;
  const select = `SELECT ${PG_FEED_COLUMNS}, (CASE WHEN data ? 'old' THEN (data->'old') || (data->'new') ELSE data->'new' END)::text AS new_image, (data->'old')::text AS old_image FROM ${feed.table}`;
  const params = [source, key, byId ? at.eventId : at.time];
  // The record's own events and its table's truncations (a key '' is a real subject, not a truncation, unless typed so).
  const mine = `source = $1 AND subject = ANY(ARRAY[$2, '']) AND (subject = $2 OR type = source || '.truncated')`;
  const [before] = await pgQuery<ImageRow>(feed, `${select} WHERE ${mine} AND ${point} ORDER BY id DESC LIMIT 1`, params);
  if (before !== undefined) {
    const event = await decodePgEvent(toFeedRow(before), order, options);
    if (event.op === 'deleted' || event.op === 'truncated') return { exists: false, why: 'deleted', event, source, imageText: null };
    return { exists: true, row: event.new ?? {}, event, image: 'new', source, imageText: before.new_image };
  }
  // The key has history, so one of its own events lies after the point (a truncation says nothing of a row it holds no image of).
  const [after] = await pgQuery<ImageRow>(feed, `${select} WHERE source = $1 AND subject = $2 AND NOT (${point}) ORDER BY id LIMIT 1`, params);
  const event = await decodePgEvent(toFeedRow(after as ImageRow), order, options);
  if (event.op === 'created') return { exists: false, why: 'not-yet-created', event, source, imageText: null };
  return { exists: true, row: event.old ?? {}, event, image: 'old', source, imageText: (after as ImageRow).old_image };
}
