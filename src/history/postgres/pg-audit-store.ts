import { DEFAULT_PG_SCHEMA } from '../../capture/postgres/pg-feed-schema.ts';
import { AuditeError } from '../../errors.ts';
import { connectPostgres } from '../../postgres/connect.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import type { AuditStore, OpenAuditStoreOptions, RestorePreview } from '../audit-store.ts';
import { streamFieldChanges } from '../field-change-stream.ts';
import type { RowVersion } from '../point-in-time.ts';
import { decodePgEvent } from './pg-events.ts';
import { assertPgEventInRange, pgFeed, pgFeedRange, readPgEventRow, readPgFeedIndexes } from './pg-feed.ts';
import { iteratePgHistory } from './pg-history-query.ts';
import { missingPgIndexFor, pgIndexHint } from './pg-index-hint.ts';
import { pgRowAsOf, type PgRowVersion } from './pg-point-in-time.ts';
import { planPgRestore, type PgRestorePlan } from './pg-restore-plan.ts';
import { restorePg } from './pg-restore.ts';
import { columnOrderCache } from './pg-tables.ts';

export interface PgAuditStoreOptions {
  /** The schema audite's objects live in (default `audite`). */
  schema?: string;
  /** How long restore waits for a row lock (lock_timeout), ms. */
  busyTimeoutMs?: number;
}

/**
 * The audit queries and restore on a PostgreSQL feed. The store needs a
 * connection of its own: history reads in read-only transactions, restore
 * runs one transaction and commits it.
 */
export function pgAuditStore(client: PgClient, url: string, options: PgAuditStoreOptions = {}): AuditStore {
  const feed = pgFeed(client, url, options.schema ?? DEFAULT_PG_SCHEMA);
  const order = columnOrderCache(feed);
  const history = (filter: Parameters<AuditStore['history']>[0]) => iteratePgHistory(feed, filter, order);
  return {
    name: feed.name,
    indexHint: async (filter) => {
      const missing = missingPgIndexFor(await readPgFeedIndexes(feed), filter);
      return missing === undefined ? undefined : pgIndexHint(feed.url, missing);
    },
    history,
    fieldChanges: (filter) => streamFieldChanges(history, filter),
    getEvent: async (id) => {
      await assertPgEventInRange(feed, id);
      const row = await readPgEventRow(feed, id);
      if (row === undefined) {
        const { first } = await pgFeedRange(feed);
        // A rolled-back transaction's ids are never used, so gaps are normal on PostgreSQL.
        throw new AuditeError('NOT_FOUND', id < first ? `event ${id} has been pruned: the oldest event kept is ${first}` : `no event ${id} in the feed`);
      }
      return decodePgEvent(row, order);
    },
    rowAsOf: async (table, key, at) => rowVersion(await pgRowAsOf(feed, table, key, at, order)),
    planRestore: async (restoreOptions) => preview(await planPgRestore(feed, restoreOptions, order)),
    restore: (restoreOptions) =>
      restorePg(feed, { ...restoreOptions, ...(options.busyTimeoutMs === undefined ? {} : { lockTimeoutMs: options.busyTimeoutMs }) }, order),
    close: () => client.end(),
  };
}

export async function openPgAuditStore(url: string, options: OpenAuditStoreOptions = {}): Promise<AuditStore> {
  const client = await connectPostgres(url, { applicationName: options.write ? 'audite restore' : 'audite history' });
  // A dropped connection between queries surfaces on the next query; the listener only keeps it from crashing the process.
  client.onError(() => {});
  return pgAuditStore(client, url, options);
}

function rowVersion(version: PgRowVersion): RowVersion {
  if (version.exists) return { exists: true, row: version.row, event: version.event, image: version.image };
  return { exists: false, why: version.why, event: version.event };
}

function preview(plan: PgRestorePlan): RestorePreview {
  const { table, key, action, restoredEventId, row, current, changes, script, notes } = plan;
  return { table, key, action, restoredEventId, row, current, changes, script, notes };
}
