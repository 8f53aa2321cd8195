import type { HeldBack } from '../../ops/feed-inspector.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { readOldestTransaction, type OldestTransaction } from '../../postgres/oldest-transaction.ts';

/**
 * The transaction that holds the feed back, for /readyz, /metrics and
 * `audite status`: the oldest one in the cluster holding an xid (prepared
 * ones included). Until it ends the visibility horizon cannot pass the ids
 * drawn since it began, so later events wait: delayed, never lost.
 * Undefined when no such transaction runs.
 */
export async function readFeedHeldBack(client: PgClient): Promise<HeldBack | undefined> {
  const oldest = await readOldestTransaction(client);
  if (oldest === undefined) return undefined;
  return { seconds: oldest.ageSeconds, description: describeHeldBack(oldest) };
}

/** One line, no query text (it may hold row data). */
export function describeHeldBack(t: OldestTransaction): string {
  const age = `${Math.round(t.ageSeconds)} s`;
  if (t.prepared) {
    return `prepared transaction ${JSON.stringify(t.applicationName ?? '')} has been pending for ${age}; events committed since wait until it is finished (COMMIT PREPARED or ROLLBACK PREPARED): delayed, not lost`;
  }
  const who = [t.applicationName ? `application ${JSON.stringify(t.applicationName)}` : undefined, t.state ?? undefined].filter(Boolean).join(', ');
  return `transaction of backend pid ${t.pid}${who === '' ? '' : ` (${who})`} has been open for ${age}; events committed since wait until it ends (commit it, roll it back, or pg_terminate_backend(${t.pid})): delayed, not lost`;
}
