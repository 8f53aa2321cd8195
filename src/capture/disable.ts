import { AuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import { writeTransaction } from '../sqlite/schema-queries.ts';
import { FEED_VIEW, OWN_TABLES } from './feed-schema.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';

export interface DisableResult {
  statements: string[];
}

/**
 * Removes the capture triggers; with dropTables also audite's own tables and
 * view (their triggers go with them), feed history included, and nothing
 * else: an app table that happens to be called audite_something stays. One
 * transaction: all or nothing.
 */
export function disable(db: SqliteDatabase, options: { dropTables?: boolean; dryRun?: boolean } = {}): DisableResult {
  if (db.inTransaction) throw new AuditeError('DB_IN_TRANSACTION', 'cannot disable capture inside an open transaction; COMMIT or ROLLBACK first');
  const rows = db
    .prepare(
      // Without dropTables the feed stays, and so do its id guards: pruning it by hand
      // while capture is off must not let a later enable hand out ids a consumer has seen.
      `SELECT type, name FROM sqlite_schema
       WHERE (type = 'trigger' AND name LIKE 'audite\\_audit\\_%' ESCAPE '\\')
          OR (:drop AND ((type = 'table' AND name IN (SELECT value FROM json_each(:tables))) OR (type = 'view' AND name = :view)))
       ORDER BY type = 'table', name`,
    )
    .all({ drop: options.dropTables ? 1 : 0, tables: JSON.stringify(OWN_TABLES), view: FEED_VIEW }) as { type: string; name: string }[];
  const statements = rows.map((r) => `DROP ${r.type.toUpperCase()} IF EXISTS ${q(r.name)}`);
  if (options.dryRun || statements.length === 0) return { statements };
  writeTransaction(db, () => {
    for (const sql of statements) db.exec(sql);
  });
  return { statements };
}
