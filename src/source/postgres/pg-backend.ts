import type { FeedInspector } from '../../ops/feed-inspector.ts';
import type { FeedBackend } from '../change-source.ts';
import { PgChangeSource } from './pg-change-source.ts';
import { PgCheckpointStore } from './pg-checkpoint-store.ts';
import { PgConnection } from './pg-connection.ts';
import { PgDeadLetterStore } from './pg-dead-letter-store.ts';
import { resolveFeed } from './pg-feed-tables.ts';
import { createPgInspector } from './pg-inspector.ts';

export interface PgBackendOptions {
  url: string;
  /** Where audite's objects live (default `audite`). */
  schema: string;
  pollIntervalMs: number;
  maxBatchBytes?: number;
}

/**
 * One session for cursors, dead letters and the ops side, opened (and the
 * feed checked) at once, so a wrong URL or a missing `enable` fails the start
 * with its exit code; and one session per consumer, opened on first read, so
 * a slow consumer never holds back another. All show as 'audite relay' in
 * pg_stat_activity.
 */
export async function openPgBackend(options: PgBackendOptions): Promise<FeedBackend> {
  // A cursor write needs no WAL flush before it returns, as on SQLite (synchronous=NORMAL):
  // one lost to a server crash only means a redelivery. Commits stay in order, so a lost
  // dead letter always comes with the lost cursor move after it: that event is redelivered.
  const writer = new PgConnection({ url: options.url, settings: { synchronous_commit: 'off' } });
  try {
    await writer.open();
    const names = await resolveFeed(writer, options.url, options.schema, { ensureRelayTables: true });
    const sources: PgChangeSource[] = [];
    return {
      openSource: () => {
        const source = new PgChangeSource(new PgConnection({ url: options.url }), names, options);
        sources.push(source);
        return source;
      },
      checkpoints: new PgCheckpointStore(writer, names, options),
      deadLetters: new PgDeadLetterStore(writer, names),
      openInspector: async (): Promise<FeedInspector> => createPgInspector(writer, names, { ownsClient: false }),
      close: async () => {
        await Promise.allSettled(sources.splice(0).map((s) => s.close()));
        await writer.end();
      },
    };
  } catch (error) {
    await writer.end();
    throw error;
  }
}

/** The ops side alone, on its own session (`audite prune`). */
export async function openPgInspector(options: { url: string; schema: string }): Promise<FeedInspector> {
  const client = new PgConnection({ url: options.url });
  try {
    await client.open();
    const names = await resolveFeed(client, options.url, options.schema);
    return createPgInspector(client, names, { ownsClient: true });
  } catch (error) {
    await client.end();
    throw error;
  }
}
