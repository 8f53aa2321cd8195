import type { PgClient } from '../../postgres/pg-client.ts';
import type { DeadLetter, DeadLetterStore } from '../change-source.ts';
import { feedId } from './pg-feed-id.ts';
import type { PgFeedNames } from './pg-feed-tables.ts';

interface LetterRow {
  id: string;
  consumer: string;
  event_id: string;
  event: string;
  error: string;
  status: number | null;
  response: string | null;
  created_at: number;
}

/** `<schema>.deadletter`: events a sink refused for good, under policy dead-letter. */
export class PgDeadLetterStore implements DeadLetterStore {
  private readonly client: Pick<PgClient, 'query'>;
  private readonly table: string;

  constructor(client: Pick<PgClient, 'query'>, names: PgFeedNames) {
    this.client = client;
    this.table = names.deadLetter;
  }

  async add(letter: DeadLetter): Promise<void> {
    await this.client.query(`INSERT INTO ${this.table} (consumer, event_id, event, error, status, response) VALUES ($1, $2, $3, $4, $5, $6)`, [
      letter.consumer,
      letter.eventId,
      letter.event,
      letter.error,
      letter.status,
      letter.response,
    ]);
  }

  async list(consumer?: string): Promise<(DeadLetter & { id: number; createdAt: number })[]> {
    const { rows } = await this.client.query<LetterRow>(
      `SELECT id, consumer, event_id, event, error, status, response, (extract(epoch FROM created_at) * 1000)::float8 AS created_at
         FROM ${this.table} WHERE $1::text IS NULL OR consumer = $1 ORDER BY id`,
      [consumer ?? null],
    );
    return rows.map((r) => ({
      id: feedId(r.id),
      consumer: r.consumer,
      eventId: feedId(r.event_id),
      event: r.event,
      error: r.error,
      status: r.status,
      response: r.response,
      createdAt: Math.floor(r.created_at),
    }));
  }

  async remove(id: number): Promise<void> {
    await this.client.query(`DELETE FROM ${this.table} WHERE id = $1`, [id]);
  }
}
