import type { ConsumerReport, FeedReport, ReportOptions } from '../../ops/consumer-status.ts';
import type { RetentionBlocker } from '../../ops/retention.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { feedId, feedIdOrNull } from './pg-feed-id.ts';
import type { PgFeedNames } from './pg-feed-tables.ts';

/**
 * The operator's questions about the feed and its consumers, answered from
 * `<schema>.changefeed`, `.cursor` and `.deadletter` in the same shapes as
 * on SQLite (consumer-status.ts), so /metrics and `audite status` read alike.
 */

type Queryable = Pick<PgClient, 'query'>;

const EPOCH = (column: string): string => `floor(extract(epoch FROM ${column}))::float8`;

/** Four index lookups. headId is the newest visible id (a report, not a reading bound). */
export async function readPgFeedReport(client: Queryable, names: PgFeedNames): Promise<FeedReport> {
  const feed = names.feed;
  const { rows } = await client.query<{ head: string | null; oldest: string | null; oldest_time: number | null; newest_time: number | null }>(
    `SELECT (SELECT max(id) FROM ${feed}) AS head, (SELECT min(id) FROM ${feed}) AS oldest,
            (SELECT ${EPOCH('time')} FROM ${feed} ORDER BY id LIMIT 1) AS oldest_time,
            (SELECT ${EPOCH('time')} FROM ${feed} ORDER BY id DESC LIMIT 1) AS newest_time`,
  );
  const row = rows[0];
  return {
    headId: feedIdOrNull(row?.head) ?? 0,
    oldestId: feedIdOrNull(row?.oldest),
    oldestTime: row?.oldest_time ?? null,
    newestTime: row?.newest_time ?? null,
  };
}

/** Where the reports read; `deadLetter` null when that table does not exist (counted as 0). */
export type PgReportNames = Pick<PgFeedNames, 'feed' | 'cursor'> & { deadLetter: string | null };

export async function readPgConsumerReports(client: Queryable, names: PgReportNames, headId: number, options: ReportOptions = {}): Promise<ConsumerReport[]> {
  const letters = names.deadLetter === null ? '0' : `(SELECT count(*) FROM ${names.deadLetter} AS d WHERE d.consumer = c.consumer)`;
  const lag = options.exactLag ? `(SELECT count(*) FROM ${names.feed} AS f WHERE f.id > c.position)` : 'NULL::bigint';
  const { rows } = await client.query<{
    consumer: string;
    position: string;
    updated_at: number | null;
    halted: boolean;
    last_error: string | null;
    pending: number | null;
    lag: string | null;
    letters: string;
  }>(
    `SELECT c.consumer, c.position, (extract(epoch FROM c.updated_at) * 1000)::float8 AS updated_at, c.halted, c.last_error,
            (SELECT ${EPOCH('f.time')} FROM ${names.feed} AS f WHERE f.id > c.position ORDER BY f.id LIMIT 1) AS pending,
            ${lag} AS lag,
            ${letters} AS letters
       FROM ${names.cursor} AS c ORDER BY c.consumer`,
  );
  const nowSeconds = (options.now ?? Date.now()) / 1000;
  return rows.map((r) => {
    const position = feedId(r.position);
    const updatedAt = r.updated_at === null ? null : new Date(Math.floor(r.updated_at)).toISOString();
    return {
      consumer: r.consumer,
      position,
      lagEvents: r.lag !== null ? Number(r.lag) : Math.max(0, headId - position),
      lagSeconds: r.pending === null ? 0 : Math.max(0, Math.round(nowSeconds - r.pending)),
      lastDeliveryAt: r.halted || r.last_error !== null || position === 0 ? null : updatedAt,
      updatedAt,
      halted: r.halted,
      lastError: r.last_error,
      deadLetters: Number(r.letters),
    };
  });
}

/** Consumers whose oldest unacknowledged event is older than the window: halted, far behind, or gone. */
export async function readPgRetentionBlockers(client: Queryable, names: PgFeedNames, cutoffSeconds: number): Promise<RetentionBlocker[]> {
  const { rows } = await client.query<{ consumer: string; position: string; halted: boolean; pending: number }>(
    `SELECT * FROM (
       SELECT c.consumer, c.position, c.halted,
              (SELECT extract(epoch FROM f.time)::float8 FROM ${names.feed} AS f WHERE f.id > c.position ORDER BY f.id LIMIT 1) AS pending
         FROM ${names.cursor} AS c
     ) AS b WHERE pending < $1 ORDER BY position, consumer`,
    [cutoffSeconds],
  );
  return rows.map((r) => ({ consumer: r.consumer, position: feedId(r.position), halted: r.halted, oldestPendingTime: Math.floor(r.pending) }));
}
