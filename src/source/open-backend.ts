import type { Config } from '../config/config-schema.ts';
import type { FeedInspector } from '../ops/feed-inspector.ts';
import { openSqliteInspector } from '../ops/sqlite-inspector.ts';
import { assertEnabled } from '../ops/status.ts';
import { isPostgresUrl, redactUrl } from '../postgres/database-url.ts';
import { openDatabase } from '../sqlite/open-database.ts';
import type { ChangeSource, FeedBackend } from './change-source.ts';
import { openPgBackend, openPgInspector } from './postgres/pg-backend.ts';
import { PgChangeSource } from './postgres/pg-change-source.ts';
import { PgConnection } from './postgres/pg-connection.ts';
import { resolveFeed } from './postgres/pg-feed-tables.ts';
import { openSqliteBackend } from './sqlite-backend.ts';
import { SqliteChangeSource } from './sqlite-source.ts';

/**
 * The one place that tells the two kinds of database apart: a postgres:// URL
 * is PostgreSQL, anything else a SQLite file. Everything past here works
 * through FeedBackend, ChangeSource and FeedInspector.
 */
export async function openFeedBackend(config: Config, options: { oneShot?: boolean } = {}): Promise<FeedBackend> {
  const { source } = config;
  if (isPostgresUrl(config.database)) {
    return openPgBackend({
      url: config.database,
      schema: source.postgres.schema,
      pollIntervalMs: source.pollIntervalMs,
      maxBatchBytes: source.maxBatchBytes,
    });
  }
  const backend = openSqliteBackend({
    file: config.database,
    pollIntervalMs: source.pollIntervalMs,
    maxBatchBytes: source.maxBatchBytes,
    busyTimeoutMs: source.busyTimeoutMs,
    ...(options.oneShot === true ? { oneShot: true } : {}),
  });
  return {
    ...backend,
    openInspector: async () =>
      openSqliteInspector(config.database, { busyTimeoutMs: source.busyTimeoutMs, schemaWatch: { autoRefresh: config.schema.autoRefresh } }),
  };
}

/** The ops side alone, without cursors or sources (`audite prune`). */
export async function openFeedInspector(config: Config): Promise<FeedInspector> {
  if (isPostgresUrl(config.database)) return openPgInspector({ url: config.database, schema: config.source.postgres.schema });
  return openSqliteInspector(config.database, { busyTimeoutMs: config.source.busyTimeoutMs });
}

/** A read-only source for a console consumer (`audite tail`): it keeps no cursor and writes nothing. */
export async function openReadOnlySource(database: string, options: { schema: string; pollIntervalMs: number }): Promise<ChangeSource> {
  if (!isPostgresUrl(database)) {
    const db = openDatabase(database, { readonly: true });
    try {
      assertEnabled(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new SqliteChangeSource(db, { pollIntervalMs: options.pollIntervalMs });
  }
  const client = new PgConnection({ url: database, applicationName: 'audite tail' });
  try {
    await client.open();
    const names = await resolveFeed(client, database, options.schema);
    return new PgChangeSource(client, names, { pollIntervalMs: options.pollIntervalMs });
  } catch (error) {
    await client.end();
    throw error;
  }
}

/** How a database appears in logs and messages: a URL without its password. */
export function databaseLabel(database: string): string {
  return isPostgresUrl(database) ? redactUrl(database) : database;
}
