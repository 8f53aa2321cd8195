import { AuditeError } from '../../errors.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { pgErrorCode, permissionError } from '../../postgres/pg-errors.ts';
import { installLockKey } from './pg-names.ts';

/** How long enable and disable wait for a table lock by default, as SQLite's busy timeout. */
export const DEFAULT_PG_LOCK_TIMEOUT_MS = 5000;

/**
 * Runs `fn` in one transaction that first takes the feed schema's install
 * lock (transaction-level advisory lock): a concurrent enable or disable waits
 * for this one to commit, then plans again and finds the work done. Then
 * lock_timeout bounds every table lock: CREATE TRIGGER queued behind an app's
 * long transaction would otherwise stall every writer queued behind it.
 */
export async function inInstallTransaction<T>(client: PgClient, feedSchema: string, lockTimeoutMs: number, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [installLockKey(feedSchema)]);
    await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${lockTimeoutMs}ms`]);
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** insufficient_privilege becomes DB_PERMISSION (exit 77), lock_not_available DB_LOCKED (exit 75); anything else passes through. */
export function installError(action: string, error: unknown): unknown {
  const code = pgErrorCode(error);
  if (code === '42501') return permissionError(action, error);
  if (code === '55P03')
    return new AuditeError(
      'DB_LOCKED',
      `${action}: another transaction holds a lock on a table beyond the lock timeout; nothing was changed; retry when it ends, or raise --busy-timeout`,
      { cause: error },
    );
  return error;
}
