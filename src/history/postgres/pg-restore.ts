import { AuditeError } from '../../errors.ts';
import { isPgUnavailable, pgErrorCode, permissionError } from '../../postgres/pg-errors.ts';
import type { RestoreOutcome } from '../audit-store.ts';
import type { RestoreOptions } from '../restore-plan.ts';
import type { ColumnOrder } from './pg-events.ts';
import { toEventId, translatePgError, type PgFeed } from './pg-feed.ts';
import { contextPatchSql, firstLine, planPgRestore, type PgRestorePlan } from './pg-restore-plan.ts';

export interface PgRestoreOptions extends RestoreOptions {
  /** How long to wait for a row lock another transaction holds (lock_timeout), ms. */
  lockTimeoutMs?: number;
}

/**
 * Brings one row back to an earlier version in one transaction. Who and why
 * are set as the app sets them (set_config(…, true): local to this
 * transaction), so the triggers record the restore like any change, with
 * reason 'restore'; the same transaction then stamps restored_event_id onto
 * the events it recorded, so no reader ever sees them without it. The plan is
 * made again inside, with the row locked. A version that no longer fits (a
 * constraint, a type) is refused with RESTORE_CONFLICT and rolled back whole.
 */
export async function restorePg(feed: PgFeed, options: PgRestoreOptions, order: ColumnOrder): Promise<RestoreOutcome> {
  const first = await planPgRestore(feed, options, order);
  if (first.action === 'none') return outcome(first, false, []);
  const { client } = feed;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('lock_timeout', $1, true)`, [`${options.lockTimeoutMs ?? 5000}ms`]);
    const plan = await planPgRestore(feed, options, order, true);
    if (plan.restoredEventId !== first.restoredEventId) {
      // Only a time target at "now" can move; refuse rather than record the wrong event id.
      throw new AuditeError('RESTORE_CONFLICT', `the feed changed while restoring ${plan.table} ${JSON.stringify(plan.key)}; nothing was written, try again`);
    }
    if (plan.statement === null) {
      await client.query('ROLLBACK');
      return outcome(plan, false, []);
    }
    await client.query(`SELECT ${plan.settings.map((_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`, plan.settings.flat());
    try {
      await client.query(plan.statement, [plan.image]);
    } catch (cause) {
      throw conflict(plan, cause);
    }
    const { rows } = await client.query<{ id: string }>(`${contextPatchSql(feed, '$1', '$2::bigint')} RETURNING id::text AS id`, [plan.extra, plan.head]);
    if (rows.length === 0) {
      throw new AuditeError(
        'NOT_ENABLED',
        `the restore of ${plan.table} ${JSON.stringify(plan.key)} was not captured (no feed event was recorded; are its triggers disabled?); nothing was written`,
      );
    }
    await client.query('COMMIT');
    return outcome(
      plan,
      true,
      rows.map((r) => toEventId(r.id)).sort((a, b) => a - b),
    );
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    if (pgErrorCode(error) === '55P03') {
      throw new AuditeError(
        'DB_LOCKED',
        `${options.table} ${JSON.stringify(options.key)} is locked by another transaction; try again, or wait longer with --busy-timeout`,
        { cause: error },
      );
    }
    if (pgErrorCode(error) === '42501') throw permissionError(`cannot restore ${options.table} ${JSON.stringify(options.key)}`, error);
    if (isPgUnavailable(error)) throw translatePgError(feed, error);
    throw error;
  }
}

/**
 * Integrity (23…), data (22…), generated-value (428C9) errors and a trigger's
 * RAISE EXCEPTION (P0001) mean the version no longer fits; PostgreSQL's
 * message names the column, constraint or trigger's reason.
 */
function conflict(plan: PgRestorePlan, cause: unknown): unknown {
  const code = pgErrorCode(cause) ?? '';
  if (!code.startsWith('23') && !code.startsWith('22') && code !== '428C9' && code !== 'P0001') return cause;
  // The message only: PostgreSQL's DETAIL line may quote the row's values.
  return new AuditeError(
    'RESTORE_CONFLICT',
    `cannot restore ${plan.table} ${JSON.stringify(plan.key)} to the version of event ${plan.restoredEventId}: ${firstLine(cause)} (the table changed since); nothing was written`,
    { cause },
  );
}

function outcome(plan: PgRestorePlan, applied: boolean, eventIds: number[]): RestoreOutcome {
  const { table, key, action, restoredEventId, row, current, changes, script, notes } = plan;
  return { table, key, action, restoredEventId, row, current, changes, script, notes, applied, eventIds };
}
