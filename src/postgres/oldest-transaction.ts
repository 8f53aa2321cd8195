import type { PgClient } from './pg-client.ts';

/** The running transaction that holds the feed's visibility horizon back, if any. */
export interface OldestTransaction {
  pid: number;
  /** Seconds since the transaction began. */
  ageSeconds: number;
  state: string | null;
  applicationName: string | null;
  /** Set for a prepared (two-phase) transaction, which has no backend. */
  prepared: boolean;
}

/**
 * The oldest transaction that has written anything (holds an xid): until it
 * ends, events committed after it cannot be read in order, so the feed waits.
 * Prepared transactions count too. Never returns query text: it may hold row data.
 */
export async function readOldestTransaction(client: PgClient): Promise<OldestTransaction | undefined> {
  const { rows } = await client.query<{ pid: number; age: number; state: string | null; application_name: string | null; prepared: boolean }>(
    `SELECT pid, extract(epoch FROM now() - xact_start)::float8 AS age, state, application_name, false AS prepared
       FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid()
     UNION ALL
     SELECT 0, extract(epoch FROM now() - prepared)::float8, 'prepared', gid, true FROM pg_prepared_xacts
     ORDER BY age DESC LIMIT 1`,
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  return { pid: row.pid, ageSeconds: Math.max(0, row.age), state: row.state, applicationName: row.application_name, prepared: row.prepared };
}
