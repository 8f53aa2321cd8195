import { CURSOR_TABLE, cursorTable, DEAD_LETTER_TABLE, FEED_TABLE } from '../capture/feed-schema.ts';
import { AuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { tableColumns, tableExists, writeTransaction } from '../sqlite/schema-queries.ts';

/** Milliseconds since the epoch, computed by SQLite (no JS clock in the statement). */
export const NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

/**
 * The relay's own tables. `enable` creates audite_cursor; databases enabled by
 * Python audite have only the feed, so the relay adds what it needs.
 */
export function ensureRelayTables(db: SqliteDatabase): void {
  const hasFeed = tableExists(db, FEED_TABLE);
  if (!hasFeed) throw new AuditeError('NOT_ENABLED', `${db.name} has no change feed; run \`audite enable ${db.name}\` first`);
  const columns = tableColumns(db, CURSOR_TABLE);
  const statements: string[] = [];
  if (columns.size === 0) {
    statements.push(cursorTable);
  }
  if (!columns.has('halted')) statements.push(`ALTER TABLE ${q(CURSOR_TABLE)} ADD COLUMN halted INTEGER NOT NULL DEFAULT 0`);
  if (!columns.has('last_error')) statements.push(`ALTER TABLE ${q(CURSOR_TABLE)} ADD COLUMN last_error TEXT`);
  const hasDeadLetters = tableExists(db, DEAD_LETTER_TABLE);
  if (!hasDeadLetters) {
    statements.push(`CREATE TABLE IF NOT EXISTS ${q(DEAD_LETTER_TABLE)} (
  id INTEGER PRIMARY KEY,
  consumer TEXT NOT NULL,
  event_id INTEGER NOT NULL,
  event JSON NOT NULL,
  error TEXT NOT NULL,
  status INTEGER,
  response TEXT,
  created_at INTEGER NOT NULL DEFAULT (${NOW_MS})
)`);
  }
  if (statements.length === 0) return;
  writeTransaction(db, () => {
    for (const sql of statements) db.exec(sql);
  });
}
