import { isAuditeError } from '../errors.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { DEFAULT_SPEC, readStoredSpec } from './capture-spec.ts';
import { enable } from './enable.ts';
import { planEnable } from './enable-plan.ts';

export interface SchemaState {
  /** PRAGMA schema_version when last planned. */
  version: number;
  /** Tables whose triggers no longer match the table, or are missing (a new table in all-tables mode). */
  stale: string[];
  /** Why capture cannot be planned or refreshed (a tracked table dropped, capture disabled, the lock busy); null when fine. */
  problem: string | null;
}

export interface SchemaCheck extends SchemaState {
  /** Whether the schema changed since the previous check. */
  changed: boolean;
  /** Tables whose triggers this check rebuilt (autoRefresh). */
  refreshed: string[];
}

export interface SchemaWatch {
  /** Compares PRAGMA schema_version (cheap); plans (and refreshes) only when it moved. */
  check(): SchemaCheck;
  readonly state: SchemaState;
}

const CAPTURE_TRIGGERS = "SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'audite\\_audit\\_%' ESCAPE '\\'";

/**
 * Notices schema changes made by the app (a migration adding a column, a new
 * table). With autoRefresh it calls `enable` with the stored capture spec,
 * which rebuilds stale triggers in one IMMEDIATE transaction: every write
 * commits before or after the rebuild, so it is captured exactly once, by the
 * old triggers or the new. A database with no capture trigger at all was
 * disabled on purpose and is never re-enabled behind the operator's back.
 */
export function createSchemaWatch(db: SqliteDatabase, options: { autoRefresh: boolean }): SchemaWatch {
  const version = db.prepare('PRAGMA schema_version').pluck();
  const captureTriggers = db.prepare(CAPTURE_TRIGGERS).pluck();
  let state: SchemaState = { version: -1, stale: [], problem: null };

  const plan = (current: number): { state: SchemaState; refreshed: string[] } => {
    if ((captureTriggers.get() as number) === 0) {
      return {
        state: { version: current, stale: [], problem: 'capture is disabled: no audite triggers; run `audite enable` to capture changes again' },
        refreshed: [],
      };
    }
    try {
      const spec = readStoredSpec(db) ?? DEFAULT_SPEC;
      const planned = planEnable(db, spec);
      if (!options.autoRefresh || planned.statements.length === 0) return { state: { version: current, stale: planned.stale, problem: null }, refreshed: [] };
      const result = enable(db, { wal: false });
      return { state: { version: current, stale: [], problem: null }, refreshed: result.stale };
    } catch (error) {
      if (!isAuditeError(error)) throw error;
      // A busy lock: plan again at the next check (version -1 forces it).
      return { state: { version: error.code === 'DB_LOCKED' ? -1 : current, stale: state.stale, problem: error.message }, refreshed: [] };
    }
  };

  return {
    check() {
      // Read before planning: a change landing while we plan moves it again, so the next check sees it.
      const current = version.get() as number;
      if (current === state.version) return { ...state, changed: false, refreshed: [] };
      const next = plan(current);
      state = next.state;
      return { ...state, changed: true, refreshed: next.refreshed };
    },
    get state() {
      return state;
    },
  };
}
