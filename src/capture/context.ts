import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { CONTEXT_TABLE } from './feed-schema.ts';

/** Who made a change and why; every event of the transaction carries it. */
export interface ChangeContext {
  actor?: string;
  reason?: string;
  impersonatedBy?: string;
  requestId?: string;
  /** Free-form keys, stored beside the named ones. */
  extra?: Record<string, unknown>;
}

/**
 * Runs `fn` in a write transaction (or a savepoint, when one is open) whose
 * captured events carry `context`. The context row is inserted first and
 * deleted before commit, so it is never visible to another transaction: a
 * rollback or crash takes it away with everything else. Nested calls stack;
 * the innermost context wins.
 *
 * Plain SQL from any client does the same:
 *   BEGIN; INSERT INTO audite_context (actor, reason) VALUES ('alice', 'typo');
 *   …writes…; DELETE FROM audite_context; COMMIT;
 */
export function withContext<T>(db: SqliteDatabase, context: ChangeContext, fn: () => T): T {
  const outer = !db.inTransaction;
  db.exec(outer ? 'BEGIN IMMEDIATE' : 'SAVEPOINT audite_context');
  try {
    const { lastInsertRowid } = db
      .prepare(`INSERT INTO ${q(CONTEXT_TABLE)} (actor, reason, impersonated_by, request_id, extra) VALUES (?, ?, ?, ?, ?)`)
      .run(
        context.actor ?? null,
        context.reason ?? null,
        context.impersonatedBy ?? null,
        context.requestId ?? null,
        context.extra === undefined ? null : JSON.stringify(context.extra),
      );
    const result = fn();
    if (result instanceof Promise) throw new TypeError('withContext() runs synchronously; its function must not return a promise');
    db.prepare(`DELETE FROM ${q(CONTEXT_TABLE)} WHERE id = ?`).run(lastInsertRowid);
    db.exec(outer ? 'COMMIT' : 'RELEASE audite_context');
    return result;
  } catch (error) {
    if (outer) {
      if (db.inTransaction) db.exec('ROLLBACK');
    } else if (db.inTransaction) {
      db.exec('ROLLBACK TO audite_context');
      db.exec('RELEASE audite_context');
    }
    throw error;
  }
}
