import { isBusy } from '../errors.ts';
import { lockedError, openDatabase } from '../sqlite/open-database.ts';
import type { FeedBackend } from './change-source.ts';
import { SqliteChangeSource } from './sqlite-source.ts';
import { SqliteCheckpointStore } from './sqlite-checkpoint-store.ts';
import { SqliteDeadLetterStore } from './sqlite-dead-letter-store.ts';
import { ensureRelayTables } from './sqlite-relay-tables.ts';

const RUNNING_BUSY_TIMEOUT_MS = 250;

export interface SqliteBackendOptions {
  file: string;
  pollIntervalMs: number;
  maxBatchBytes?: number;
  busyTimeoutMs: number;
  /** A one-shot command (cursor reset, dead letters) may wait the whole busy timeout: no event loop to keep moving. */
  oneShot?: boolean;
}

/**
 * One writer connection for cursors and dead letters (never touching the
 * app's tables), and one read-only connection per consumer for the feed.
 */
export function openSqliteBackend(options: SqliteBackendOptions): FeedBackend {
  const writer = openDatabase(options.file, { busyTimeoutMs: options.busyTimeoutMs });
  try {
    // Cursor writes need no fsync: one lost to a power cut only means a redelivery.
    // And leave WAL checkpoints to the app's connections, which run them anyway:
    // a checkpoint here would copy up to 4 MB and fsync on the relay's event loop.
    writer.pragma('synchronous = NORMAL');
    writer.pragma('wal_autocheckpoint = 0');
    ensureRelayTables(writer);
    // From here on, SQLite's busy wait blocks the whole event loop (every consumer, the ops
    // endpoint): wait briefly and let the caller retry instead. A cursor write that times out
    // is covered by the next one; anything else is retried with the batch.
    if (options.oneShot !== true) writer.pragma(`busy_timeout = ${Math.min(options.busyTimeoutMs, RUNNING_BUSY_TIMEOUT_MS)}`);
  } catch (error) {
    writer.close();
    if (isBusy(error)) throw lockedError(options.file, error);
    throw error;
  }
  const sources: SqliteChangeSource[] = [];
  return {
    openSource: () => {
      const reader = openDatabase(options.file, { readonly: true, busyTimeoutMs: options.busyTimeoutMs });
      // The feed is read once, front to back: a large page cache would only cost memory.
      reader.pragma('cache_size = -2000');
      const source = new SqliteChangeSource(reader, options);
      sources.push(source);
      return source;
    },
    checkpoints: new SqliteCheckpointStore(writer),
    deadLetters: new SqliteDeadLetterStore(writer),
    close: async () => {
      for (const source of sources.splice(0)) await source.close();
      if (writer.open) writer.close();
    },
  };
}
