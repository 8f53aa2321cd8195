import { setTimeout as sleep } from 'node:timers/promises';
import type { FeedEvent } from '../../events/feed-event.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import type { ChangeSource } from '../change-source.ts';
import { feedId } from './pg-feed-id.ts';
import type { PgFeedNames } from './pg-feed-tables.ts';
import { VisibilityHorizon } from './visibility-horizon.ts';

interface FeedRow {
  id: string;
  source: string;
  subject: string;
  type: string;
  time: number;
  specversion: string;
  data: string | null;
  context: string | null;
}

export interface PgChangeSourceOptions {
  pollIntervalMs: number;
  maxBatchBytes?: number;
}

/**
 * Reads committed feed rows up to the visibility horizon (see
 * visibility-horizon.ts), on a session of its own: every statement is
 * autocommit, so no snapshot is held while a batch travels to the sink.
 */
export class PgChangeSource implements ChangeSource {
  private readonly client: Pick<PgClient, 'query' | 'end'>;
  private readonly horizon: VisibilityHorizon;
  private readonly pollIntervalMs: number;
  private readonly maxBatchBytes: number;
  private readonly readSql: string;
  /** The bound (or position) the last read covered: waitForChange waits for the horizon to pass it. */
  private covered = 0;
  /** The bound waitForChange saw pass `covered`, for the read that follows. */
  private woken: number | undefined;
  private ended = false;
  private readonly feed: string;

  constructor(client: Pick<PgClient, 'query' | 'end'>, names: PgFeedNames, options: PgChangeSourceOptions) {
    this.client = client;
    this.horizon = new VisibilityHorizon(client, names.sequence);
    this.feed = names.feed;
    this.pollIntervalMs = options.pollIntervalMs;
    this.maxBatchBytes = options.maxBatchBytes ?? Number.MAX_SAFE_INTEGER;
    // At most `limit` rows, cut after the row that reaches maxBatchBytes (the first row always
    // comes), so memory per batch stays bounded whatever the row sizes. The inner query has a
    // LIMIT, so it is not flattened: each jsonb becomes text once.
    this.readSql = `SELECT id, source, subject, type, time, specversion, data, context FROM (
      SELECT r.*, sum(r.size) OVER (ORDER BY r.id ROWS UNBOUNDED PRECEDING) AS total FROM (
        SELECT b.*, coalesce(octet_length(b.data), 0) + coalesce(octet_length(b.context), 0) AS size FROM (
          SELECT id, source, subject, type, floor(extract(epoch FROM time))::float8 AS time, specversion, data::text AS data, context::text AS context
          FROM ${names.feed} WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3
        ) AS b
      ) AS r
    ) AS w WHERE total - size < $4 ORDER BY id`;
  }

  async read(after: number, limit: number): Promise<FeedEvent[]> {
    // A bound just found by waitForChange is used as is (a bound only ever lags, so it is safe): one round trip less per wake-up.
    const bound = this.woken ?? (await this.horizon.refresh());
    this.woken = undefined;
    this.covered = Math.max(bound, after);
    if (bound <= after) return [];
    const { rows } = await this.client.query<FeedRow>(this.readSql, [after, bound, limit, this.maxBatchBytes]);
    return rows.map(toEvent);
  }

  /** Polls the horizon (one or two tiny statements) until it passes what the last read covered. */
  async waitForChange(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const bound = await untilAborted(this.horizon.refresh(), signal);
      if (bound === undefined) return;
      if (bound > this.covered) {
        this.woken = bound;
        return;
      }
      try {
        await sleep(this.pollIntervalMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  /** The first call finds the end of the feed as of now (see VisibilityHorizon.end); later ones, the current bound. */
  async head(signal?: AbortSignal): Promise<number> {
    if (this.ended) return this.horizon.refresh();
    const end = await this.horizon.end(this.feed, this.pollIntervalMs, signal);
    this.ended = true;
    return end;
  }

  async close(): Promise<void> {
    await this.client.end();
  }
}

/** The promise's value, or undefined as soon as the signal aborts (the statement finishes on its own). */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    promise.catch(() => {});
    return undefined;
  }
  let onAbort: () => void = () => {};
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
    promise.catch(() => {});
  }
}

function toEvent(row: FeedRow): FeedEvent {
  return {
    id: feedId(row.id),
    table: row.source,
    subject: row.subject,
    type: row.type,
    time: row.time,
    specversion: row.specversion,
    data: row.data,
    // jsonb text is always valid JSON: the builder need not parse it again.
    dataValid: true,
    context: row.context,
  };
}
