import { qualified, quoteIdent as q } from '../../postgres/quote.ts';

/**
 * audite's objects on PostgreSQL, all in one schema of their own (default
 * `audite`). The event model is SQLite's: source, subject, type, time, data
 * `{new, old}`, context; in PostgreSQL-native types, plus the writing
 * transaction's id.
 */
export const DEFAULT_PG_SCHEMA = 'audite';

export const PG_FEED_TABLE = 'changefeed';
export const PG_FEED_VIEW = 'cloudevent';
export const PG_CURSOR_TABLE = 'cursor';
export const PG_DEAD_LETTER_TABLE = 'deadletter';
export const PG_SETTINGS_TABLE = 'settings';

/** The session settings a transaction sets (`SET LOCAL audite.actor = 'alice'`) to say who and why. */
export const PG_CONTEXT_SETTINGS = {
  actor: 'audite.actor',
  reason: 'audite.reason',
  impersonated_by: 'audite.impersonated_by',
  request_id: 'audite.request_id',
} as const;

export interface PgSchemaObject {
  kind: 'schema' | 'table' | 'view' | 'index';
  name: string;
  sql: string;
}

/**
 * The feed. `id` comes from an identity sequence with CACHE 1, which the
 * reader relies on: a value handed out is one the sequence already shows
 * (see the PostgreSQL source's visibility horizon). Ids are taken at insert
 * time and become visible at commit, so id order is per-row commit order but
 * not global visibility order; `txid` lets readers tell which transaction wrote a row.
 */
export function pgFeedObjects(schema: string): PgSchemaObject[] {
  const feed = qualified(schema, PG_FEED_TABLE);
  return [
    { kind: 'schema', name: schema, sql: `CREATE SCHEMA IF NOT EXISTS ${q(schema)}` },
    {
      kind: 'table',
      name: PG_FEED_TABLE,
      sql: `CREATE TABLE IF NOT EXISTS ${feed} (
  id bigint GENERATED ALWAYS AS IDENTITY (CACHE 1) PRIMARY KEY,
  source text NOT NULL,
  subject text NOT NULL,
  type text NOT NULL,
  time timestamptz NOT NULL DEFAULT now(),
  specversion text NOT NULL DEFAULT '1.0',
  data jsonb,
  context jsonb,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id()
)`,
    },
    {
      kind: 'view',
      name: PG_FEED_VIEW,
      sql: `CREATE OR REPLACE VIEW ${qualified(schema, PG_FEED_VIEW)} AS
SELECT *, jsonb_build_object(
  'id', id::text,
  'sequence', lpad(id::text, 20, '0'),
  'source', source,
  'subject', subject,
  'type', type,
  'time', to_char(time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
  'specversion', specversion,
  'datacontenttype', 'application/json',
  'data', data
) AS cloudevent
FROM ${feed}`,
    },
    {
      kind: 'table',
      name: PG_CURSOR_TABLE,
      sql: `CREATE TABLE IF NOT EXISTS ${qualified(schema, PG_CURSOR_TABLE)} (
  consumer text PRIMARY KEY,
  position bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now(),
  halted boolean NOT NULL DEFAULT false,
  last_error text
)`,
    },
    {
      kind: 'table',
      name: PG_DEAD_LETTER_TABLE,
      sql: `CREATE TABLE IF NOT EXISTS ${qualified(schema, PG_DEAD_LETTER_TABLE)} (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  consumer text NOT NULL,
  event_id bigint NOT NULL,
  event text NOT NULL,
  error text NOT NULL,
  status integer,
  response text,
  created_at timestamptz NOT NULL DEFAULT now()
)`,
    },
    {
      kind: 'table',
      name: PG_SETTINGS_TABLE,
      sql: `CREATE TABLE IF NOT EXISTS ${qualified(schema, PG_SETTINGS_TABLE)} (
  key text PRIMARY KEY,
  value jsonb NOT NULL
)`,
    },
  ];
}

/** Audit-query indexes, as on SQLite opt-in (`enable --history-indexes`): they cost every write. */
export function pgHistoryIndexes(schema: string): PgSchemaObject[] {
  const feed = qualified(schema, PG_FEED_TABLE);
  return [
    {
      kind: 'index',
      name: 'changefeed_source_subject_id_idx',
      sql: `CREATE INDEX IF NOT EXISTS changefeed_source_subject_id_idx ON ${feed} (source, subject, id)`,
    },
    { kind: 'index', name: 'changefeed_time_id_idx', sql: `CREATE INDEX IF NOT EXISTS changefeed_time_id_idx ON ${feed} (time, id)` },
    {
      kind: 'index',
      name: 'changefeed_actor_time_idx',
      sql: `CREATE INDEX IF NOT EXISTS changefeed_actor_time_idx ON ${feed} ((context->>'actor'), time) WHERE context IS NOT NULL`,
    },
  ];
}
