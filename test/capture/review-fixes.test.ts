// Regressions found in review: each of these once lost a change, doubled one, or failed the app's write.
import { describe, expect, test } from 'vitest';
import { disable } from '../../src/capture/disable.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { createDb, enableFile, feed, withDb } from './support.ts';

describe('capture edge cases', () => {
  test('a json() value in a table wider than 63 columns: the write succeeds and the value is recorded as text', () => {
    const columns = Array.from({ length: 70 }, (_, i) => `c${i}`);
    const file = createDb(`CREATE TABLE w (id INTEGER PRIMARY KEY, ${columns.join(', ')})`);
    enableFile(file);
    withDb(file, (db) => {
      db.prepare(`INSERT INTO w (id, c62, c69) VALUES (1, json('{"x":{"y":2}}'), json('[1,{"z":3}]'))`).run();
      db.prepare(`UPDATE w SET c0 = 'changed' WHERE id = 1`).run();
    });
    const events = feed(file);
    const created = JSON.parse(events[0]?.data ?? '{}') as { new: Record<string, unknown> };
    expect(created.new.c62).toBe('{"x":{"y":2}}');
    expect(created.new.c69).toBe('[1,{"z":3}]');
    const updated = JSON.parse(events[1]?.data ?? '{}') as { old: Record<string, unknown> };
    // The same value, the same JSON type, whether it came from NEW or from the stored row.
    expect(updated.old.c62).toBe(created.new.c62);
  });

  test('a json() value in a narrow table is recorded as the same text in every image', () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, doc TEXT)');
    enableFile(file);
    withDb(file, (db) => {
      db.prepare(`INSERT INTO t VALUES (1, json('{"a":1}'))`).run();
      db.prepare(`DELETE FROM t WHERE id = 1`).run();
    });
    const [created, deleted] = feed(file).map((e) => JSON.parse(e.data ?? '{}') as { new?: { doc: unknown }; old?: { doc: unknown } });
    expect(created?.new?.doc).toBe('{"a":1}');
    expect(deleted?.old?.doc).toBe('{"a":1}');
  });

  test.each(['rowid', '_rowid_', 'oid'])('UPDATE … SET %s = … on an INTEGER PRIMARY KEY table moves the row to a new subject', (alias) => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    enableFile(file);
    withDb(file, (db) => {
      db.prepare(`INSERT INTO t VALUES (1, 'x')`).run();
      db.prepare(`UPDATE t SET ${alias} = 9, v = 'y' WHERE id = 1`).run();
    });
    expect(feed(file).map((e) => [e.type, e.subject])).toEqual([
      ['t.created', '1'],
      ['t.deleted', '1'],
      ['t.created', '9'],
    ]);
  });

  test('a stage left by INSERT OR IGNORE is never recorded when its own row later changes key', () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT UNIQUE)');
    enableFile(file);
    withDb(file, (db) => {
      db.prepare(`INSERT INTO t VALUES (1, 'a')`).run();
      db.prepare(`INSERT OR IGNORE INTO t VALUES (2, 'a')`).run();
      db.prepare(`UPDATE t SET id = 5 WHERE id = 1`).run();
    });
    expect(feed(file).map((e) => [e.type, e.subject])).toEqual([
      ['t.created', '1'],
      ['t.deleted', '1'],
      ['t.created', '5'],
    ]);
  });
});

describe('disable --drop-tables', () => {
  test("drops audite's own tables and view, never an app table that shares the prefix", () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY); CREATE TABLE audite_invoices (id INTEGER PRIMARY KEY);');
    enableFile(file);
    withDb(file, (db) => disable(db as unknown as SqliteDatabase, { dropTables: true }));
    const left = withDb(file, (db) => db.prepare("SELECT type, name FROM sqlite_schema WHERE name LIKE 'audite%' ORDER BY name").all());
    expect(left).toEqual([{ type: 'table', name: 'audite_invoices' }]);
  });
});
