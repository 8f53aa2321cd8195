import { setTimeout as sleep } from 'node:timers/promises';
import { nowSeconds, type PruneOptions, type PruneResult } from '../../ops/retention.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { feedIdOrNull } from './pg-feed-id.ts';
import type { PgFeedNames } from './pg-feed-tables.ts';
import { readPgRetentionBlockers } from './pg-reports.ts';

const DEFAULT_BATCH = 1000;
const DEFAULT_PAUSE_MS = 10;
const FIRST = Number.MIN_SAFE_INTEGER;

/**
 * Retention on PostgreSQL, with SQLite's rules (retention.ts): only events
 * every consumer acknowledged, never the newest one, only the oldest
 * contiguous run of events older than the window, in small batches with a
 * pause between them. Each batch is one statement, so it reads the lowest
 * checkpoint in the same snapshot it deletes in: a cursor moved backwards
 * before the batch is honoured. Ids at or below every checkpoint are final
 * (a consumer only ever acknowledged ids under the visibility horizon), so
 * no late commit can land among the deleted ones.
 */
export async function prunePg(client: Pick<PgClient, 'query'>, names: PgFeedNames, options: PruneOptions): Promise<PruneResult> {
  const dryRun = options.dryRun ?? false;
  const pauseMs = options.pauseMs ?? DEFAULT_PAUSE_MS;
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const cutoff = (options.now ?? nowSeconds)() - options.keepSeconds;
  const oldRun = `WITH bound AS (
      SELECT least(coalesce((SELECT min(position) FROM ${names.cursor}), (SELECT max(id) FROM ${names.feed})), (SELECT max(id) FROM ${names.feed}) - 1) AS id
    ), batch AS (
      SELECT f.id, f.time < to_timestamp($1) AS old FROM ${names.feed} AS f, bound WHERE f.id > $2 AND f.id <= bound.id ORDER BY f.id LIMIT $3
    ), run AS (
      SELECT b.id FROM batch AS b WHERE NOT EXISTS (SELECT 1 FROM batch AS n WHERE NOT n.old AND n.id <= b.id)
    )`;
  const countSql = `${oldRun} SELECT count(*) AS n, max(id) AS last FROM run`;
  const removeSql = `${oldRun}, deleted AS (DELETE FROM ${names.feed} WHERE id IN (SELECT id FROM run) RETURNING id)
    SELECT count(*) AS n, max(id) AS last FROM deleted`;
  const result: PruneResult = { pruned: 0, upTo: null, batches: 0, dryRun, blockers: [] };
  while (!options.signal?.aborted) {
    const after = dryRun ? (result.upTo ?? FIRST) : FIRST;
    const { rows } = await client.query<{ n: string; last: string | null }>(dryRun ? countSql : removeSql, [cutoff, after, batchSize]);
    const count = Number(rows[0]?.n ?? 0);
    if (count === 0) break;
    result.pruned += count;
    result.upTo = feedIdOrNull(rows[0]?.last);
    result.batches += 1;
    if (count < batchSize) break;
    if (!dryRun && pauseMs > 0) await sleep(pauseMs, undefined, { signal: options.signal }).catch(() => {});
  }
  result.blockers = await readPgRetentionBlockers(client, names, cutoff);
  return result;
}
