import { setTimeout as sleep } from 'node:timers/promises';
import { FEED_TABLE } from '../capture/feed-schema.ts';
import type { FeedEvent } from '../events/feed-event.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase, SqliteStatement } from '../sqlite/sqlite-database.ts';
import type { ChangeSource } from './change-source.ts';

interface FeedRow {
  id: number;
  source: string;
  subject: string;
  type: string;
  time: number;
  specversion: string;
  data: string | null;
  context: string | null;
  valid: number;
}

/**
 * Reads committed feed rows on its own read-only connection. Each read is one
 * statement, so its implicit read transaction ends before anything is sent:
 * a reader that held one across a network call would stop WAL checkpoints and
 * let the WAL grow without bound.
 */
export class SqliteChangeSource implements ChangeSource {
  private readonly db: SqliteDatabase;
  private readonly pollIntervalMs: number;
  private readonly maxBatchBytes: number;
  private readonly dataVersion: SqliteStatement;
  private readonly schemaVersion: SqliteStatement;
  private readStatement: SqliteStatement | undefined;
  private seenSchema = -1;
  private seenData = -1;

  constructor(db: SqliteDatabase, options: { pollIntervalMs: number; maxBatchBytes?: number }) {
    this.db = db;
    this.pollIntervalMs = options.pollIntervalMs;
    this.maxBatchBytes = options.maxBatchBytes ?? Number.MAX_SAFE_INTEGER;
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
    this.schemaVersion = db.prepare('PRAGMA schema_version').pluck();
  }

  async read(after: number, limit: number): Promise<FeedEvent[]> {
    // Noted before reading: a commit landing in between changes it, so waitForChange cannot miss it.
    this.seenData = this.dataVersion.get() as number;
    const rows = this.statement().all(after, limit, this.maxBatchBytes) as FeedRow[];
    return rows.map(toEvent);
  }

  /** PRAGMA data_version changes when another connection commits: a cheap check, made often when idle. */
  async waitForChange(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if ((this.dataVersion.get() as number) !== this.seenData) return;
      try {
        await sleep(this.pollIntervalMs, undefined, { signal });
      } catch {
        return;
      }
    }
  }

  async head(): Promise<number> {
    return (
      (this.db
        .prepare(`SELECT coalesce(max(id), 0) FROM ${q(FEED_TABLE)}`)
        .pluck()
        .get() as number) ?? 0
    );
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Feeds made by Python audite have no context column; re-check when the schema changes. */
  private statement(): SqliteStatement {
    const version = this.schemaVersion.get() as number;
    if (this.readStatement === undefined || version !== this.seenSchema) {
      const hasContext = this.db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = 'context'`).get(FEED_TABLE) !== undefined;
      const context = hasContext ? 'context' : 'NULL';
      const size = `coalesce(octet_length(data), 0) + coalesce(octet_length(${context}), 0)`;
      // At most `limit` rows, cut after the row that reaches maxBatchBytes (the first row always
      // comes): memory per batch stays bounded whatever the row sizes. json_valid runs in C,
      // rather than a JS parse allocating a throwaway object tree per event.
      this.readStatement = this.db.prepare(
        `SELECT id, source, subject, type, time, specversion, data, context, json_valid(data) AS valid FROM (
           SELECT id, source, subject, type, time, specversion, data, ${context} AS context, ${size} AS size,
                  sum(${size}) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) AS total
           FROM ${q(FEED_TABLE)} WHERE id > ? ORDER BY id LIMIT ?
         ) WHERE total - size < ? ORDER BY id`,
      );
      this.seenSchema = version;
    }
    return this.readStatement;
  }
}

function toEvent(row: FeedRow): FeedEvent {
  if (!Number.isSafeInteger(row.id)) throw new RangeError(`feed id ${row.id} is beyond 2^53; audite positions are JS numbers`);
  return {
    id: row.id,
    table: row.source,
    subject: String(row.subject),
    type: row.type,
    time: Number(row.time),
    specversion: row.specversion,
    data: row.data === null ? null : String(row.data),
    context: row.context === null ? null : String(row.context),
    dataValid: row.valid === 1,
  };
}
