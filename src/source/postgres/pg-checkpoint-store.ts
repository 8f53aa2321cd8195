import type { PgClient } from '../../postgres/pg-client.ts';
import type { CheckpointStore, ConsumerState } from '../change-source.ts';
import { feedId } from './pg-feed-id.ts';
import type { PgFeedNames } from './pg-feed-tables.ts';
import { VisibilityHorizon } from './visibility-horizon.ts';

type Queryable = Pick<PgClient, 'query'>;

/**
 * `<schema>.cursor`, one row per consumer: position = the last id its sink
 * acknowledged. The same semantics as the SQLite store; every write is one
 * autocommit statement.
 */
export class PgCheckpointStore implements CheckpointStore {
  private readonly client: Queryable;
  private readonly names: PgFeedNames;
  private readonly pollIntervalMs: number;

  constructor(client: Queryable, names: PgFeedNames, options: { pollIntervalMs: number }) {
    this.client = client;
    this.names = names;
    this.pollIntervalMs = options.pollIntervalMs;
  }

  /** A new consumer starting from the end gets every event committed from now on, also those of transactions in flight now. */
  async load(consumer: string, startFrom: 'beginning' | 'end', signal?: AbortSignal): Promise<ConsumerState> {
    const existing = await this.read(consumer);
    if (existing !== undefined) return existing;
    const insert = `INSERT INTO ${this.names.cursor} (consumer, position) VALUES ($1, $2) ON CONFLICT (consumer) DO NOTHING`;
    if (startFrom === 'beginning') {
      await this.client.query(insert, [consumer, 0]);
      return (await this.read(consumer)) as ConsumerState;
    }
    // Finding the end may wait for transactions in flight. Meanwhile the cursor row already
    // holds retention back at the lowest existing checkpoint, which lies below every id those
    // transactions drew (checkpoints only pass final ids): a prune running now cannot delete
    // events this consumer is about to start before. A crash before the move below leaves it
    // there, which only delivers more, never less.
    await this.client.query(
      `INSERT INTO ${this.names.cursor} (consumer, position) SELECT $1, coalesce(min(position), 0) FROM ${this.names.cursor} ON CONFLICT (consumer) DO NOTHING`,
      [consumer],
    );
    const horizon = new VisibilityHorizon(this.client, this.names.sequence);
    const end = await horizon.end(this.names.feed, this.pollIntervalMs, signal);
    await this.client.query(`UPDATE ${this.names.cursor} SET position = $2, updated_at = now() WHERE consumer = $1 AND position < $2`, [consumer, end]);
    return (await this.read(consumer)) as ConsumerState;
  }

  // `position < $2` keeps the cursor monotonic even if two processes ran the same consumer.
  async commit(consumer: string, position: number): Promise<void> {
    await this.client.query(`UPDATE ${this.names.cursor} SET position = $2, updated_at = now(), last_error = NULL WHERE consumer = $1 AND position < $2`, [
      consumer,
      position,
    ]);
  }

  async markFailed(consumer: string, error: string, halted: boolean): Promise<void> {
    await this.client.query(`UPDATE ${this.names.cursor} SET last_error = $2, halted = $3, updated_at = now() WHERE consumer = $1`, [consumer, error, halted]);
  }

  async reset(consumer: string, position: number): Promise<void> {
    await this.client.query(
      `INSERT INTO ${this.names.cursor} (consumer, position, updated_at, halted, last_error) VALUES ($1, $2, now(), false, NULL)
       ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at, halted = false, last_error = NULL`,
      [consumer, position],
    );
  }

  async close(): Promise<void> {}

  private async read(consumer: string): Promise<ConsumerState | undefined> {
    const { rows } = await this.client.query<{ position: string; halted: boolean; last_error: string | null }>(
      `SELECT position, halted, last_error FROM ${this.names.cursor} WHERE consumer = $1`,
      [consumer],
    );
    const row = rows[0];
    return row === undefined ? undefined : { position: feedId(row.position), halted: row.halted, lastError: row.last_error };
  }
}
