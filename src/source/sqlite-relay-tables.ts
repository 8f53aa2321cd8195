import { CURSOR_TABLE, DEAD_LETTER_TABLE, FEED_TABLE } from '../capture/feed-schema.ts';
import { AuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';

/** Milliseconds since the epoch, computed by SQLite (no JS clock in the statement). */
export const NOW_MS = `CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)`;

/**
 * The relay's own tables. `enable` creates audite_cursor; databases enabled by
 * Python audite have only the feed, so the relay adds what it needs.
 */
export function ensureRelayTables(db: SqliteDatabase): void {
  const hasFeed = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(FEED_TABLE) !== undefined;
  if (!hasFeed) throw new AuditeError('NOT_ENABLED', `${db.name} has no change feed; run \`audite enable ${db.name}\` first`);
  const columns = new Set((db.prepare('SELECT name FROM pragma_table_info(?)').all(CURSOR_TABLE) as { name: string }[]).map((c) => c.name));
  const statements: string[] = [];
  if (columns.size === 0) {
    statements.push(`CREATE TABLE IF NOT EXISTS ${q(CURSOR_TABLE)} (
  consumer TEXT PRIMARY KEY,
  position INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT (${NOW_MS})
)`);
  }
  if (!columns.has('halted')) statements.push(`ALTER TABLE ${q(CURSOR_TABLE)} ADD COLUMN halted INTEGER NOT NULL DEFAULT 0`);
  if (!columns.has('last_error')) statements.push(`ALTER TABLE ${q(CURSOR_TABLE)} ADD COLUMN last_error TEXT`);
  const hasDeadLetters = db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(DEAD_LETTER_TABLE) !== undefined;
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
  db.exec('BEGIN IMMEDIATE');
  try {
    for (const sql of statements) db.exec(sql);
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
