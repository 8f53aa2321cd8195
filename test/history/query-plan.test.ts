// History of one record and one actor's day must come from an index, not a scan of the feed.
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { BENCH_DDL, buildFeed, runHistoryBench } from '../../bench/history-queries.ts';
import { enable } from '../../src/capture/enable.ts';
import { SOURCE_SUBJECT_INDEX, TIME_INDEX } from '../../src/capture/feed-schema.ts';
import { ACTOR_INDEX, ensureAuditIndexes, missingIndexFor } from '../../src/history/audit-indexes.ts';
import { readFeedShape } from '../../src/history/feed-access.ts';
import { buildHistoryQuery, queryHistory, type HistoryFilter } from '../../src/history/history-query.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { tempDbPath } from '../support/temp.ts';

const START = Date.UTC(2024, 0, 1) / 1000;
const DAY = 86_400;
const record: HistoryFilter = { tables: ['orders'], keys: ['42'] };
const actorDay: HistoryFilter = { actors: ['user-7'], since: START + 3 * DAY, until: START + 4 * DAY };

function feedDb(options: { indexes: boolean; analyze?: boolean }): Database.Database {
  const db = new Database(tempDbPath());
  db.exec(BENCH_DDL);
  const lib = db as unknown as SqliteDatabase;
  enable(lib, { historyIndexes: false });
  buildFeed(db, { events: 20_000, records: 500, start: START, days: 10, actors: 20 });
  if (options.indexes) ensureAuditIndexes(lib);
  if (options.analyze) db.exec('ANALYZE');
  return db;
}

function plan(db: Database.Database, filter: HistoryFilter): string {
  const query = buildHistoryQuery(db as unknown as SqliteDatabase, filter);
  return (db.prepare(`EXPLAIN QUERY PLAN ${query.sql}`).all(...query.params) as { detail: string }[]).map((r) => r.detail).join('\n');
}

describe('EXPLAIN QUERY PLAN', () => {
  test.each([false, true])('with the audit indexes (ANALYZE run: %s): index searches, no scan', (analyze) => {
    const db = feedDb({ indexes: true, analyze });
    try {
      const history = plan(db, record);
      expect(history).toContain(`SEARCH audite_changefeed USING INDEX ${SOURCE_SUBJECT_INDEX} (source=? AND subject=?)`);
      expect(history).not.toMatch(/SCAN|TEMP B-TREE/);
      expect(plan(db, { ...record, newestFirst: true, limit: 10 })).not.toMatch(/SCAN|TEMP B-TREE/);

      const actor = plan(db, actorDay);
      expect(actor).toContain(`SEARCH audite_changefeed USING INDEX ${ACTOR_INDEX} (<expr>=? AND time>? AND time<?)`);
      expect(actor).not.toContain('SCAN');
      expect(plan(db, { ...actorDay, limit: 5 })).not.toContain('SCAN');
      expect(plan(db, { ...actorDay, tables: ['orders', 'users'] })).not.toContain('SCAN audite_changefeed');

      // A time range alone uses the time index while it is selective (here one hour of ten days).
      expect(plan(db, { since: START, until: START + 3600 })).toContain(`USING INDEX ${TIME_INDEX}`);
      expect(missingIndexFor(readFeedShape(db as unknown as SqliteDatabase), actorDay)).toBeUndefined();
    } finally {
      db.close();
    }
  });

  test('without them: the same answers from a scan, and the CLI hint names the missing index', () => {
    const indexed = feedDb({ indexes: true });
    const bare = feedDb({ indexes: false });
    try {
      const lib = bare as unknown as SqliteDatabase;
      expect(plan(bare, record)).toContain('SCAN audite_changefeed');
      expect(plan(bare, actorDay)).toContain('SCAN audite_changefeed');
      const ids = (db: Database.Database, filter: HistoryFilter): number[] => queryHistory(db as unknown as SqliteDatabase, filter).map((e) => e.id);
      expect(ids(bare, record)).toEqual(ids(indexed, record));
      expect(ids(bare, actorDay)).toEqual(ids(indexed, actorDay));
      expect(ids(bare, actorDay).length).toBeGreaterThan(0);
      const shape = readFeedShape(lib);
      expect(missingIndexFor(shape, record)).toBe(SOURCE_SUBJECT_INDEX);
      expect(missingIndexFor(shape, actorDay)).toBe(ACTOR_INDEX);
      expect(missingIndexFor(shape, { since: START })).toBe(TIME_INDEX);
      expect(missingIndexFor(shape, {})).toBeUndefined();
    } finally {
      indexed.close();
      bare.close();
    }
  });

  test('ensureAuditIndexes is idempotent', () => {
    const db = feedDb({ indexes: true });
    try {
      expect(ensureAuditIndexes(db as unknown as SqliteDatabase)).toEqual([]);
    } finally {
      db.close();
    }
  });
});

test('the benchmark runs and reports each query against the full scan', async () => {
  const markdown = await runHistoryBench({ events: 20_000, records: 500, runs: 2 });
  expect(markdown).toContain('| full scan of the feed');
  expect(markdown).toContain('| history of one record');
  expect(markdown).toContain("| one actor's changes over a day");
  expect(markdown).toContain(ACTOR_INDEX);
});
