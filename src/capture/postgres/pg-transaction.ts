import type { PgClient } from '../../postgres/pg-client.ts';
import { pgErrorCode, permissionError } from '../../postgres/pg-errors.ts';
import { installLockKey } from './pg-names.ts';

/**
 * Runs `fn` in one transaction that first takes the feed schema's install
 * lock (transaction-level advisory lock): a concurrent enable or disable waits
 * for this one to commit, then plans again and finds the work done.
 */
export async function inInstallTransaction<T>(client: PgClient, feedSchema: string, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [installLockKey(feedSchema)]);
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** A refused statement (insufficient_privilege) becomes DB_PERMISSION, exit 77; anything else passes through. */
export function withPermissionError(action: string, error: unknown): unknown {
  return pgErrorCode(error) === '42501' ? permissionError(action, error) : error;
}
