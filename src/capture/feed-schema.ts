import { quoteIdent as q } from '../sqlite/quote.ts';

/** Names fixed by the Python tool audite: existing databases and readers depend on them. */
export const FEED_TABLE = 'audite_changefeed';
export const FEED_VIEW = 'audite_cloudevent';
export const SOURCE_SUBJECT_INDEX = 'audite_changefeed_source_subject_id_idx';
export const TIME_INDEX = 'audite_changefeed_time_id_idx';
export const SPEC_VERSION = '1.0';

/** Our own additions; all prefixed audite_ so capture never tracks them. */
export const CURSOR_TABLE = 'audite_cursor';
export const CONTEXT_TABLE = 'audite_context';
export const REPLACED_TABLE = 'audite_replaced';
export const SETTINGS_TABLE = 'audite_settings';
export const DEAD_LETTER_TABLE = 'audite_deadletter';

/** Every table and view audite owns (its triggers go with them); an app's own audite_* table is not among them. */
export const OWN_TABLES = [FEED_TABLE, CURSOR_TABLE, CONTEXT_TABLE, REPLACED_TABLE, SETTINGS_TABLE, DEAD_LETTER_TABLE] as const;

export interface SchemaObject {
  type: 'table' | 'view' | 'index';
  name: string;
  sql: string;
}

// audite's columns, in audite's order. Without AUTOINCREMENT, feed-guard.ts keeps ids unique for ever.
const feedTable = (autoincrement: boolean): string => `CREATE TABLE IF NOT EXISTS ${q(FEED_TABLE)} (
  id INTEGER PRIMARY KEY${autoincrement ? ' AUTOINCREMENT' : ''},
  source TEXT NOT NULL,
  subject TEXT NOT NULL,
  type TEXT NOT NULL,
  time INTEGER NOT NULL DEFAULT (strftime('%s')),
  specversion TEXT NOT NULL,
  data JSON,
  context JSON
)`;

// Field for field the view audite defines; our context column rides along in `*`.
const feedView = `CREATE VIEW IF NOT EXISTS ${q(FEED_VIEW)} AS
SELECT *, json_object(
  'id', CAST(id AS TEXT),
  'sequence', printf('%020d', id),
  'source', source,
  'subject', subject,
  'type', type,
  'time', strftime('%Y-%m-%dT%H:%M:%S+00:00', datetime(time, 'unixepoch')),
  'specversion', specversion,
  'datacontenttype', 'application/json',
  'data', json(data)
) cloudevent
FROM ${q(FEED_TABLE)}`;

export const ACTOR_INDEX = 'audite_changefeed_actor_time_idx';
/** The actor of an event; audit queries must spell it exactly so for SQLite to use the index. */
export const ACTOR_EXPR = "json_extract(context, '$.actor')";

/**
 * The history indexes: audite's two, plus one actor/time index of ours. The
 * actor index is partial on `context IS NOT NULL`, so events written without
 * a context (most of them, in apps that never set one) cost it only that test.
 */
export const historyIndexes: readonly SchemaObject[] = [
  { type: 'index', name: SOURCE_SUBJECT_INDEX, sql: `CREATE INDEX IF NOT EXISTS ${q(SOURCE_SUBJECT_INDEX)} ON ${q(FEED_TABLE)} (source, subject, id)` },
  { type: 'index', name: TIME_INDEX, sql: `CREATE INDEX IF NOT EXISTS ${q(TIME_INDEX)} ON ${q(FEED_TABLE)} (time, id)` },
  { type: 'index', name: ACTOR_INDEX, sql: `CREATE INDEX IF NOT EXISTS ${q(ACTOR_INDEX)} ON ${q(FEED_TABLE)} (${ACTOR_EXPR}, time) WHERE context IS NOT NULL` },
];

// One row per consumer; position is the last id its sink acknowledged.
export const cursorTable = `CREATE TABLE IF NOT EXISTS ${q(CURSOR_TABLE)} (
  consumer TEXT PRIMARY KEY,
  position INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT (CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))
)`;

// Who and why, set by the writing transaction and removed before it commits.
// The stored `data` column is computed once per context row, not once per event.
const contextTable = `CREATE TABLE IF NOT EXISTS ${q(CONTEXT_TABLE)} (
  id INTEGER PRIMARY KEY,
  actor TEXT,
  reason TEXT,
  impersonated_by TEXT,
  request_id TEXT,
  extra JSON,
  data JSON GENERATED ALWAYS AS (json_patch(coalesce(extra, '{}'), json_object('actor', actor, 'reason', reason, 'impersonated_by', impersonated_by, 'request_id', request_id))) STORED
)`;

// Rows that INSERT OR REPLACE is about to remove, staged by a BEFORE INSERT trigger.
// rid: the staged row's rowid (rowid tables), to tell a removed row from one still there.
const replacedTable = `CREATE TABLE IF NOT EXISTS ${q(REPLACED_TABLE)} (
  source TEXT NOT NULL,
  subject TEXT NOT NULL,
  data JSON,
  rid INTEGER,
  PRIMARY KEY (source, subject)
) WITHOUT ROWID`;

const settingsTable = `CREATE TABLE IF NOT EXISTS ${q(SETTINGS_TABLE)} (
  key TEXT PRIMARY KEY,
  value JSON NOT NULL
)`;

/** Tables and the view; indexes come separately, after the feed has its context column. */
export function feedObjects(options: { autoincrement: boolean }): SchemaObject[] {
  return [
    { type: 'table', name: FEED_TABLE, sql: feedTable(options.autoincrement) },
    { type: 'view', name: FEED_VIEW, sql: feedView },
    { type: 'table', name: CURSOR_TABLE, sql: cursorTable },
    { type: 'table', name: CONTEXT_TABLE, sql: contextTable },
    { type: 'table', name: REPLACED_TABLE, sql: replacedTable },
    { type: 'table', name: SETTINGS_TABLE, sql: settingsTable },
  ];
}

/** Statement that adds our context column to a feed created by Python audite. */
export const addContextColumn = `ALTER TABLE ${q(FEED_TABLE)} ADD COLUMN context JSON`;

/** Statement that brings a stage table made by an earlier audite up to date. */
export const addReplacedRidColumn = `ALTER TABLE ${q(REPLACED_TABLE)} ADD COLUMN rid INTEGER`;
