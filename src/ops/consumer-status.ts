import { CURSOR_TABLE, FEED_TABLE } from '../capture/feed-schema.ts';
import { DEAD_LETTER_TABLE } from '../capture/feed-schema.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { tableColumns } from '../sqlite/schema-queries.ts';

/**
 * What an operator asks about consumers and the feed, read from the
 * database alone (audite_cursor, audite_deadletter, audite_changefeed), so
 * `audite status` and the daemon's /metrics tell the same story.
 */

export interface ConsumerReport {
  consumer: string;
  position: number;
  /** Events past the position. */
  lagEvents: number;
  /** Age of the oldest unacknowledged event, in seconds; 0 when caught up. */
  lagSeconds: number;
  /** When the cursor last moved forward after a delivery (ISO); null when unknown (halted, failed, never delivered). */
  lastDeliveryAt: string | null;
  /** The cursor row's last change of any kind (delivery, halt, reset), ISO. */
  updatedAt: string | null;
  halted: boolean;
  lastError: string | null;
  deadLetters: number;
}

export interface FeedReport {
  /** The newest id (0 when empty). */
  headId: number;
  oldestId: number | null;
  /** Unix seconds of the oldest and newest events. */
  oldestTime: number | null;
  newestTime: number | null;
}

export interface ReportOptions {
  /** Count lag exactly (O(lag)); otherwise head - position, which equals it unless rows were deleted by hand. */
  exactLag?: boolean;
  /** Unix ms. */
  now?: number;
}

/** Cheap: four index lookups. */
export function readFeedReport(db: SqliteDatabase): FeedReport {
  const feed = q(FEED_TABLE);
  const row = db
    .prepare(
      `SELECT (SELECT max(id) FROM ${feed}) AS headId, (SELECT min(id) FROM ${feed}) AS oldestId,
              (SELECT time FROM ${feed} ORDER BY id LIMIT 1) AS oldestTime, (SELECT time FROM ${feed} ORDER BY id DESC LIMIT 1) AS newestTime`,
    )
    .get() as { headId: number | null; oldestId: number | null; oldestTime: number | null; newestTime: number | null };
  return { headId: row.headId ?? 0, oldestId: row.oldestId, oldestTime: row.oldestTime, newestTime: row.newestTime };
}

export function readConsumerReports(db: SqliteDatabase, headId: number, options: ReportOptions = {}): ConsumerReport[] {
  const columns = tableColumns(db, CURSOR_TABLE);
  if (columns.size === 0) return [];
  const halted = columns.has('halted') ? 'halted' : '0';
  const lastError = columns.has('last_error') ? 'last_error' : 'NULL';
  const rows = db
    .prepare(`SELECT consumer, position, updated_at AS updatedAt, ${halted} AS halted, ${lastError} AS lastError FROM ${q(CURSOR_TABLE)} ORDER BY consumer`)
    .all() as { consumer: string; position: number; updatedAt: number | null; halted: number; lastError: string | null }[];
  const pendingTime = db.prepare(`SELECT time FROM ${q(FEED_TABLE)} WHERE id > ? ORDER BY id LIMIT 1`).pluck();
  const count = db.prepare(`SELECT count(*) FROM ${q(FEED_TABLE)} WHERE id > ?`).pluck();
  const letters = deadLetterCounts(db);
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  return rows.map((r) => {
    const pending = pendingTime.get(r.position) as number | undefined;
    const isHalted = r.halted === 1;
    const updatedAt = r.updatedAt === null ? null : new Date(r.updatedAt).toISOString();
    return {
      consumer: r.consumer,
      position: r.position,
      lagEvents: options.exactLag ? (count.get(r.position) as number) : Math.max(0, headId - r.position),
      lagSeconds: pending === undefined ? 0 : Math.max(0, Math.round(nowSeconds - pending)),
      lastDeliveryAt: isHalted || r.lastError !== null || r.position === 0 ? null : updatedAt,
      updatedAt,
      halted: isHalted,
      lastError: r.lastError,
      deadLetters: letters.get(r.consumer) ?? 0,
    };
  });
}

function deadLetterCounts(db: SqliteDatabase): Map<string, number> {
  if (tableColumns(db, DEAD_LETTER_TABLE).size === 0) return new Map();
  const rows = db.prepare(`SELECT consumer, count(*) AS n FROM ${q(DEAD_LETTER_TABLE)} GROUP BY consumer`).all() as { consumer: string; n: number }[];
  return new Map(rows.map((r) => [r.consumer, r.n]));
}
