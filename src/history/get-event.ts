import { AuditeError } from '../errors.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { decodeEvent, type AuditEvent } from './audit-event.ts';
import { assertEventInRange, feedRange, readEventRow, readFeedShape } from './feed-access.ts';
import type { ParseOptions } from './feed-json.ts';
import type { AsOf } from './point-in-time.ts';
import { parseTimeInput, TIME_FORMATS } from './time-input.ts';

/** One event by id. NOT_FOUND when the id is beyond the feed or was pruned. */
export function getEvent(db: SqliteDatabase, id: number, options: ParseOptions = {}): AuditEvent {
  const shape = readFeedShape(db);
  assertEventInRange(db, id);
  const row = readEventRow(db, shape, id);
  if (row === undefined) {
    const { first } = feedRange(db);
    throw new AuditeError('NOT_FOUND', id < first ? `event ${id} has been pruned: the oldest event kept is ${first}` : `no event ${id} in the feed`);
  }
  return decodeEvent(row, options);
}

const DIGITS = /^\d{1,15}$/;

export function parseEventId(text: string): number {
  if (!DIGITS.test(text.trim()) || Number(text) < 1)
    throw new AuditeError('INVALID_ARGUMENT', `event id must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

/**
 * A restore or point-in-time target: a bare number is an event id; anything
 * else a time. Unix seconds therefore take GNU date's `@` prefix here
 * (`@1714557600`), so that `--to 42` can never be misread as 1970.
 */
export function parseAsOf(text: string, what = '--to'): AsOf {
  const input = text.trim();
  if (DIGITS.test(input)) return { eventId: parseEventId(input) };
  try {
    return { time: parseTimeInput(input, what) };
  } catch {
    throw new AuditeError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(text)} is neither an event id nor a time: use an event id (42), @unix-seconds, or ${TIME_FORMATS.replace(' or unix seconds', '')}`,
    );
  }
}
