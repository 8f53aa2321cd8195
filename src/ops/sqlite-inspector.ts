import { createSchemaWatch } from '../capture/schema-watch.ts';
import { FEED_TABLE } from '../capture/feed-schema.ts';
import { openDatabase } from '../sqlite/open-database.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import { readConsumerReports, readFeedReport } from './consumer-status.ts';
import type { FeedInspector } from './feed-inspector.ts';
import { prune } from './retention.ts';

export interface SqliteInspectorOptions {
  busyTimeoutMs: number;
  /** Watch the schema (the daemon); undefined leaves it out (`audite prune`). */
  schemaWatch?: { autoRefresh: boolean };
}

/**
 * The ops side of a SQLite feed, on a connection of its own: reports are
 * cheap index lookups, retention runs short IMMEDIATE transactions, and the
 * schema watch compares PRAGMA schema_version. A SQLite writer holds no
 * snapshot that delays readers, so nothing is ever held back.
 */
export function openSqliteInspector(file: string, options: SqliteInspectorOptions): FeedInspector {
  const db = openDatabase(file, { busyTimeoutMs: options.busyTimeoutMs });
  try {
    const probe = db.prepare(`SELECT max(id) FROM ${q(FEED_TABLE)}`);
    const schemaWatch = options.schemaWatch === undefined ? undefined : createSchemaWatch(db, options.schemaWatch);
    return {
      probe: async () => {
        probe.get();
      },
      feed: async () => readFeedReport(db),
      consumers: async (headId, reportOptions) => readConsumerReports(db, headId, reportOptions),
      prune: (pruneOptions) => prune(db, pruneOptions),
      ...(schemaWatch === undefined ? {} : { schemaWatch }),
      close: async () => {
        if (db.open) db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
