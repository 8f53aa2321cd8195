import { withContext } from '../capture/context.ts';
import { FEED_TABLE } from '../capture/feed-schema.ts';
import { AuditeError, isBusy, sqliteCode } from '../errors.ts';
import { lockedError } from '../sqlite/open-database.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { planRestore, type RestoreOptions, type RestorePlan } from './restore-plan.ts';

export interface RestoreResult extends RestorePlan {
  /** False when the row already held that version: nothing was written. */
  applied: boolean;
  /** Ids of the feed events the restore produced (one, normally). */
  eventIds: number[];
}

/**
 * Brings one row back to an earlier version, in one write transaction
 * (BEGIN IMMEDIATE, or a savepoint inside the caller's transaction). The
 * change is captured like any other, with context reason 'restore' and
 * extra.restored_event_id. The plan is made again under the write lock, so
 * no concurrent writer slips between reading the row and writing it.
 * A version that no longer fits (a NOT NULL, UNIQUE, CHECK, type or trigger
 * constraint fails) is refused with RESTORE_CONFLICT and rolled back whole.
 */
export function restore(db: SqliteDatabase, options: RestoreOptions): RestoreResult {
  const first = planRestore(db, options);
  if (first.action === 'none') return { ...first, applied: false, eventIds: [] };
  try {
    return withContext(db, first.context, () => {
      const plan = planRestore(db, options);
      if (plan.restoredEventId !== first.restoredEventId) {
        // Only a time target at "now" can move; refuse rather than record the wrong event id.
        throw new AuditeError('RESTORE_CONFLICT', `the feed changed while restoring ${plan.table} ${JSON.stringify(plan.key)}; nothing was written, try again`);
      }
      if (plan.statement === null) return { ...plan, applied: false, eventIds: [] };
      const head = (db.prepare(`SELECT coalesce(max(id), 0) AS head FROM ${q(FEED_TABLE)}`).get() as { head: number }).head;
      try {
        db.prepare(plan.statement.sql).run(...plan.statement.params);
      } catch (cause) {
        throw conflict(plan, cause);
      }
      const eventIds = (db.prepare(`SELECT id FROM ${q(FEED_TABLE)} WHERE id > ? ORDER BY id`).all(head) as { id: number }[]).map((r) => r.id);
      return { ...plan, applied: true, eventIds };
    });
  } catch (cause) {
    if (isBusy(cause)) throw lockedError(db.name, cause);
    throw cause;
  }
}

/** SQLite's constraint messages name the column or constraint ("UNIQUE constraint failed: users.email"): pass them on. */
function conflict(plan: RestorePlan, cause: unknown): unknown {
  const code = sqliteCode(cause) ?? '';
  if (!code.startsWith('SQLITE_CONSTRAINT') && code !== 'SQLITE_MISMATCH') return cause;
  const detail = cause instanceof Error ? cause.message.split('\n')[0] : code;
  return new AuditeError(
    'RESTORE_CONFLICT',
    `cannot restore ${plan.table} ${JSON.stringify(plan.key)} to the version of event ${plan.restoredEventId}: ${detail} (the table changed since); nothing was written`,
    { cause },
  );
}
