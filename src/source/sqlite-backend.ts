import { openDatabase } from '../sqlite/open-database.ts';
import type { FeedBackend } from './change-source.ts';
import { SqliteChangeSource } from './sqlite-source.ts';
import { SqliteCheckpointStore } from './sqlite-checkpoint-store.ts';
import { SqliteDeadLetterStore } from './sqlite-dead-letter-store.ts';
import { ensureRelayTables } from './sqlite-relay-tables.ts';

export interface SqliteBackendOptions {
  file: string;
  pollIntervalMs: number;
  busyTimeoutMs: number;
}

/**
 * One writer connection for cursors and dead letters (never touching the
 * app's tables), and one read-only connection per consumer for the feed.
 */
export function openSqliteBackend(options: SqliteBackendOptions): FeedBackend {
  const writer = openDatabase(options.file, { busyTimeoutMs: options.busyTimeoutMs });
  try {
    ensureRelayTables(writer);
  } catch (error) {
    writer.close();
    throw error;
  }
  const sources: SqliteChangeSource[] = [];
  return {
    openSource: () => {
      const source = new SqliteChangeSource(openDatabase(options.file, { readonly: true, busyTimeoutMs: options.busyTimeoutMs }), options);
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
