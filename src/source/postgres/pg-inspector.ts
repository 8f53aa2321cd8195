import type { FeedInspector } from '../../ops/feed-inspector.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import type { PgFeedNames } from './pg-feed-tables.ts';
import { readFeedHeldBack } from './held-back.ts';
import { readPgConsumerReports, readPgFeedReport } from './pg-reports.ts';
import { prunePg } from './pg-retention.ts';

/**
 * The ops side of a PostgreSQL feed. Every statement is autocommit, so it
 * may share the relay's checkpoint session. No schema watch: `audite status`
 * reports capture drift on PostgreSQL.
 */
export function createPgInspector(client: PgClient, names: PgFeedNames, options: { ownsClient: boolean }): FeedInspector {
  return {
    probe: async () => {
      await client.query(`SELECT max(id) FROM ${names.feed}`);
    },
    feed: () => readPgFeedReport(client, names),
    consumers: (headId, reportOptions) => readPgConsumerReports(client, names, headId, reportOptions),
    heldBack: () => readFeedHeldBack(client),
    prune: (pruneOptions) => prunePg(client, names, pruneOptions),
    close: async () => {
      if (options.ownsClient) await client.end();
    },
  };
}
