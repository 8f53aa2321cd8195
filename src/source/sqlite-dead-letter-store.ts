import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import type { DeadLetter, DeadLetterStore } from './change-source.ts';
import { DEAD_LETTER_TABLE } from '../capture/feed-schema.ts';

export class SqliteDeadLetterStore implements DeadLetterStore {
  private readonly db: SqliteDatabase;

  constructor(db: SqliteDatabase) {
    this.db = db;
  }

  async add(letter: DeadLetter): Promise<void> {
    this.db
      .prepare(`INSERT INTO ${q(DEAD_LETTER_TABLE)} (consumer, event_id, event, error, status, response) VALUES (?, ?, ?, ?, ?, ?)`)
      .run(letter.consumer, letter.eventId, letter.event, letter.error, letter.status, letter.response);
  }

  async list(consumer?: string): Promise<(DeadLetter & { id: number; createdAt: number })[]> {
    return this.db
      .prepare(
        `SELECT id, consumer, event_id AS eventId, event, error, status, response, created_at AS createdAt FROM ${q(DEAD_LETTER_TABLE)} WHERE @consumer IS NULL OR consumer = @consumer ORDER BY id`,
      )
      .all({ consumer: consumer ?? null }) as (DeadLetter & { id: number; createdAt: number })[];
  }

  async remove(id: number): Promise<void> {
    this.db.prepare(`DELETE FROM ${q(DEAD_LETTER_TABLE)} WHERE id = ?`).run(id);
  }
}
