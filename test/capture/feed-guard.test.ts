// Without AUTOINCREMENT, the guard triggers keep event ids from ever being reused.
import { describe, expect, test } from 'vitest';
import { createDb, enableFile, feed, sqliteShell, withDb } from './support.ts';

function setup(events: number): string {
  const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, v);');
  enableFile(file);
  withDb(file, (db) => {
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    for (let i = 0; i < events; i += 1) insert.run(i);
  });
  return file;
}

describe('feed id guard', () => {
  test('the feed has no AUTOINCREMENT by default', () => {
    const file = setup(1);
    const sql = withDb(file, (db) => (db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'audite_changefeed'").get() as { sql: string }).sql);
    expect(sql).not.toMatch(/AUTOINCREMENT/i);
  });

  test('deleting the newest event fails, from any client', () => {
    const file = setup(3);
    expect(() => withDb(file, (db) => db.exec('DELETE FROM audite_changefeed WHERE id = 3'))).toThrow(/newest change-feed event is kept/);
    expect(() => withDb(file, (db) => db.exec('DELETE FROM audite_changefeed'))).toThrow(/newest change-feed event is kept/);
    expect(() => sqliteShell(file, 'DELETE FROM audite_changefeed WHERE id >= 2;')).toThrow(/newest change-feed event is kept/);
    expect(feed(file).map((r) => r.id)).toEqual([1, 2, 3]);
  });

  test('changing an id fails', () => {
    const file = setup(2);
    expect(() => withDb(file, (db) => db.exec('UPDATE audite_changefeed SET id = 100 WHERE id = 1'))).toThrow(/immutable/);
    expect(() => sqliteShell(file, 'UPDATE audite_changefeed SET id = id + 10;')).toThrow(/immutable/);
    // Other columns may be corrected (e.g. redaction).
    withDb(file, (db) => db.exec("UPDATE audite_changefeed SET data = '{}' WHERE id = 1"));
    expect(feed(file)[0]?.data).toBe('{}');
  });

  test('pruning older events works; new ids stay above the old maximum', () => {
    const file = setup(10);
    withDb(file, (db) => db.exec('DELETE FROM audite_changefeed WHERE id < 10'));
    sqliteShell(file, 'DELETE FROM audite_changefeed WHERE id < 10;');
    expect(feed(file).map((r) => r.id)).toEqual([10]);
    sqliteShell(file, 'INSERT INTO t (v) VALUES (1);');
    withDb(file, (db) => db.exec('INSERT INTO t (v) VALUES (2)'));
    expect(feed(file).map((r) => r.id)).toEqual([10, 11, 12]);
  });

  test("--autoincrement creates audite's DDL and no guard triggers", () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, v);');
    enableFile(file, { autoincrement: true });
    const objects = withDb(
      file,
      (db) => db.prepare("SELECT name, sql FROM sqlite_schema WHERE name LIKE 'audite_changefeed%'").all() as { name: string; sql: string }[],
    );
    expect(objects.find((o) => o.name === 'audite_changefeed')?.sql).toMatch(/AUTOINCREMENT/);
    expect(objects.filter((o) => o.name.endsWith('_trigger'))).toEqual([]);
    withDb(file, (db) =>
      db.exec('INSERT INTO t VALUES (1, 1); INSERT INTO t VALUES (2, 2); DELETE FROM audite_changefeed WHERE id = 2; INSERT INTO t VALUES (3, 3);'),
    );
    expect(feed(file).map((r) => r.id)).toEqual([1, 3]);
    // Re-running without the flag keeps the feed as it is.
    expect(enableFile(file).upToDate).toBe(true);
  });

  test('--history-indexes adds the (source, subject, id), (time, id) and actor indexes', () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, v);');
    enableFile(file, { historyIndexes: true });
    const indexes = withDb(file, (db) =>
      db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audite_changefeed' ORDER BY name").all(),
    );
    expect(indexes).toEqual([
      { name: 'audite_changefeed_actor_time_idx' },
      { name: 'audite_changefeed_source_subject_id_idx' },
      { name: 'audite_changefeed_time_id_idx' },
    ]);
  });
});
