import { AuditeError, isBusy } from '../errors.ts';
import { lockedError } from '../sqlite/open-database.ts';
import { writeTransaction } from '../sqlite/schema-queries.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { mergeSpec, readStoredSpec, type CaptureSpec } from './capture-spec.ts';
import { planEnable, type EnablePlan } from './enable-plan.ts';

export interface EnableOptions extends Partial<CaptureSpec> {
  /** Switch the database to WAL (persistent). Default true. */
  wal?: boolean;
  /** Compute and return the plan without changing anything. */
  dryRun?: boolean;
  /** For a new feed: use AUTOINCREMENT ids as Python audite does (slower writes). Default false. */
  autoincrement?: boolean;
  /** table → columns to capture again after an earlier exclusion (excludeColumns only ever adds). */
  includeColumns?: Record<string, string[]>;
}

export interface EnableResult extends EnablePlan {
  spec: CaptureSpec;
  /** True when the database already matched: nothing was executed. */
  upToDate: boolean;
  /** Set when `enable` switched the journal mode to WAL. */
  walEnabled: boolean;
  dryRun: boolean;
}

/**
 * Installs or refreshes capture. Idempotent: on an unchanged schema it reads
 * and returns; otherwise everything is applied in one IMMEDIATE transaction,
 * planned again under the write lock, so a concurrent writer's change is
 * captured by either the old triggers or the new ones, never both or neither.
 */
export function enable(db: SqliteDatabase, options: EnableOptions = {}): EnableResult {
  if (db.inTransaction) {
    throw new AuditeError('DB_IN_TRANSACTION', 'cannot enable capture inside an open transaction; COMMIT or ROLLBACK first');
  }
  const { wal = true, dryRun = false, autoincrement, includeColumns, ...given } = options;
  const spec = mergeSpec(readStoredSpec(db), given, includeColumns);
  const planOptions = autoincrement === undefined ? {} : { autoincrement };
  const wantWal = wal && currentJournalMode(db) !== 'wal';
  let plan = planEnable(db, spec, planOptions);
  if (dryRun) {
    const statements = wantWal ? [...plan.statements, 'PRAGMA journal_mode = WAL'] : plan.statements;
    return { ...plan, statements, spec, upToDate: statements.length === 0, walEnabled: false, dryRun };
  }
  if (plan.statements.length === 0) {
    // Triggers are current, but an earlier --no-wal run may have left the journal mode to switch.
    const walEnabled = wantWal && setWal(db);
    return { ...plan, spec, upToDate: !walEnabled, walEnabled, dryRun };
  }

  plan = writeTransaction(db, () => {
    const current = planEnable(db, spec, planOptions);
    for (const sql of current.statements) db.exec(sql);
    return current;
  });
  const walEnabled = wantWal && setWal(db);
  return { ...plan, spec, upToDate: false, walEnabled, dryRun };
}

export function currentJournalMode(db: SqliteDatabase): string {
  return String(db.pragma('journal_mode', { simple: true })).toLowerCase();
}

function setWal(db: SqliteDatabase): boolean {
  try {
    return String(db.pragma('journal_mode = WAL', { simple: true })).toLowerCase() === 'wal';
  } catch (cause) {
    if (isBusy(cause)) throw lockedError(db.name, cause);
    throw cause;
  }
}
