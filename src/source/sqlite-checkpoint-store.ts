import { CURSOR_TABLE, FEED_TABLE } from '../capture/feed-schema.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase, SqliteStatement } from '../sqlite/sqlite-database.ts';
import type { CheckpointStore, ConsumerState } from './change-source.ts';
import { NOW_MS } from './sqlite-relay-tables.ts';

/**
 * audite_cursor, one row per consumer. Each write is one tiny autocommit
 * statement under a busy timeout, so it holds the write lock for microseconds
 * and the app's writers at most wait, never fail.
 */
export class SqliteCheckpointStore implements CheckpointStore {
  private readonly db: SqliteDatabase;
  private readonly commitStatement: SqliteStatement;

  constructor(db: SqliteDatabase) {
    this.db = db;
    // Prepared once: it runs after every batch.
    // `position < ?` makes the cursor monotonic even if two processes ran the same consumer.
    this.commitStatement = db.prepare(
      `UPDATE ${q(CURSOR_TABLE)} SET position = ?, updated_at = ${NOW_MS}, last_error = NULL WHERE consumer = ? AND position < ?`,
    );
  }

  async load(consumer: string, startFrom: 'beginning' | 'end'): Promise<ConsumerState> {
    const start = startFrom === 'end' ? `(SELECT coalesce(max(id), 0) FROM ${q(FEED_TABLE)})` : '0';
    this.db
      .prepare(`INSERT INTO ${q(CURSOR_TABLE)} (consumer, position, updated_at) VALUES (?, ${start}, ${NOW_MS}) ON CONFLICT (consumer) DO NOTHING`)
      .run(consumer);
    const row = this.db.prepare(`SELECT position, halted, last_error AS lastError FROM ${q(CURSOR_TABLE)} WHERE consumer = ?`).get(consumer) as {
      position: number;
      halted: number;
      lastError: string | null;
    };
    return { position: row.position, halted: row.halted === 1, lastError: row.lastError };
  }

  async commit(consumer: string, position: number): Promise<void> {
    this.commitStatement.run(position, consumer, position);
  }

  async markFailed(consumer: string, error: string, halted: boolean): Promise<void> {
    this.db.prepare(`UPDATE ${q(CURSOR_TABLE)} SET last_error = ?, halted = ?, updated_at = ${NOW_MS} WHERE consumer = ?`).run(error, halted ? 1 : 0, consumer);
  }

  async reset(consumer: string, position: number): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO ${q(CURSOR_TABLE)} (consumer, position, updated_at, halted, last_error) VALUES (?, ?, ${NOW_MS}, 0, NULL)
         ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at, halted = 0, last_error = NULL`,
      )
      .run(consumer, position);
  }

  async close(): Promise<void> {}
}
