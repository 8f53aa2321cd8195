import { openDatabase } from '../sqlite/open-database.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { indexHint, missingIndexFor } from './audit-indexes.ts';
import type { AuditStore, OpenAuditStoreOptions, RestoreOutcome, RestorePreview } from './audit-store.ts';
import { readFeedShape } from './feed-access.ts';
import { iterateFieldChanges } from './field-changes.ts';
import { getEvent } from './get-event.ts';
import { iterateHistory } from './history-query.ts';
import { rowAsOf } from './point-in-time.ts';
import { planRestore, type RestorePlan } from './restore-plan.ts';
import { restore } from './restore.ts';

/** The SQLite audit functions behind the AuditStore seam; each call runs synchronously on one connection. */
export function sqliteAuditStore(db: SqliteDatabase, file: string = db.name): AuditStore {
  return {
    name: file,
    indexHint: async (filter) => {
      const missing = missingIndexFor(readFeedShape(db), filter);
      return missing === undefined ? undefined : indexHint(file, missing);
    },
    history: (filter) => toAsync(iterateHistory(db, filter)),
    fieldChanges: (filter) => toAsync(iterateFieldChanges(db, filter)),
    getEvent: async (id) => getEvent(db, id),
    rowAsOf: async (table, key, at) => rowAsOf(db, table, key, at),
    planRestore: async (options) => preview(planRestore(db, options)),
    restore: async (options): Promise<RestoreOutcome> => {
      const result = restore(db, options);
      return { ...preview(result), applied: result.applied, eventIds: result.eventIds };
    },
    close: async () => {
      db.close();
    },
  };
}

export function openSqliteAuditStore(file: string, options: OpenAuditStoreOptions = {}): AuditStore {
  const db = openDatabase(file, {
    readonly: !(options.write ?? false),
    ...(options.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: options.busyTimeoutMs }),
  });
  return sqliteAuditStore(db, file);
}

function preview(plan: RestorePlan): RestorePreview {
  const { table, key, action, restoredEventId, row, current, changes, script, notes } = plan;
  return { table, key, action, restoredEventId, row, current, changes, script, notes };
}

/** Rows are produced lazily, as the generator is read, so the statement is never left half-read across awaits of other work. */
async function* toAsync<T>(rows: Iterable<T>): AsyncGenerator<T> {
  yield* rows;
}
