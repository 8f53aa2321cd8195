import { PG_CURSOR_TABLE, PG_DEAD_LETTER_TABLE, PG_FEED_TABLE, pgFeedObjects } from '../../capture/postgres/pg-feed-schema.ts';
import { AuditeError } from '../../errors.ts';
import { redactUrl } from '../../postgres/database-url.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { permissionError, pgErrorCode } from '../../postgres/pg-errors.ts';
import { qualified } from '../../postgres/quote.ts';

/** Quoted names of audite's objects in one schema. */
export interface PgFeedNames {
  schema: string;
  feed: string;
  cursor: string;
  deadLetter: string;
  /** The feed's identity sequence, whose last_value the reader's horizon reads. */
  sequence: string;
}

type Queryable = Pick<PgClient, 'query'>;

export function feedNames(schema: string, sequence: { schema: string; name: string }): PgFeedNames {
  return {
    schema,
    feed: qualified(schema, PG_FEED_TABLE),
    cursor: qualified(schema, PG_CURSOR_TABLE),
    deadLetter: qualified(schema, PG_DEAD_LETTER_TABLE),
    sequence: qualified(sequence.schema, sequence.name),
  };
}

/**
 * Finds the feed and its identity sequence, or says to run `enable`. With
 * `ensureRelayTables`, adds the cursor and dead-letter tables if an older
 * install lacks them (as the SQLite relay does). Also reads the sequence and
 * the feed once, so a missing privilege fails at start (DB_PERMISSION), not
 * in the loop.
 */
export async function resolveFeed(client: Queryable, url: string, schema: string, options: { ensureRelayTables?: boolean } = {}): Promise<PgFeedNames> {
  const feed = qualified(schema, PG_FEED_TABLE);
  try {
    const { rows } = await client.query<{ feed: string | null; seq_schema: string | null; seq_name: string | null }>(
      `SELECT to_regclass($1)::text AS feed, n.nspname AS seq_schema, c.relname AS seq_name
         FROM (SELECT CASE WHEN to_regclass($1) IS NULL THEN NULL ELSE pg_get_serial_sequence($1, 'id') END AS seq) s
         LEFT JOIN pg_class c ON c.oid = to_regclass(s.seq) LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`,
      [feed],
    );
    const row = rows[0];
    if (row?.feed === null || row?.feed === undefined) {
      throw new AuditeError('NOT_ENABLED', `${redactUrl(url)} has no change feed in schema ${schema}; run \`audite enable ${redactUrl(url)}\` first`);
    }
    if (row.seq_schema === null || row.seq_name === null) {
      throw new AuditeError('NOT_ENABLED', `${feed}.id has no identity sequence; the feed was not made by \`audite enable\`; run it again`);
    }
    const names = feedNames(schema, { schema: row.seq_schema, name: row.seq_name });
    if (options.ensureRelayTables) {
      await ensureRelayTables(client, schema).catch((error: unknown) => {
        throw pgErrorCode(error) === '42501' ? permissionError(`cannot add audite's cursor and dead-letter tables to schema ${schema}`, error) : error;
      });
    }
    await client.query(`SELECT last_value FROM ${names.sequence}`);
    await client.query(`SELECT id FROM ${names.feed} WHERE false`);
    return names;
  } catch (error) {
    if (pgErrorCode(error) === '42501') throw permissionError(`cannot read the change feed ${feed}`, error);
    throw error;
  }
}

async function ensureRelayTables(client: Queryable, schema: string): Promise<void> {
  const wanted = [PG_CURSOR_TABLE, PG_DEAD_LETTER_TABLE];
  const { rows } = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2)`,
    [schema, wanted],
  );
  const present = new Set(rows.map((r) => r.name));
  for (const object of pgFeedObjects(schema)) {
    if (object.kind !== 'table' || !wanted.includes(object.name) || present.has(object.name)) continue;
    await client.query(object.sql);
  }
}
