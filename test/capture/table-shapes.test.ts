// Keys and table kinds: rowid tables, WITHOUT ROWID, STRICT, generated columns, very wide tables, FTS5.
import { describe, expect, test } from 'vitest';
import { createDb, enableFile, events, feed, python, sqliteShell, types, withDb } from './support.ts';

describe('keys', () => {
  test('a table without a primary key uses the rowid as subject', () => {
    const file = createDb('CREATE TABLE log (msg TEXT, level INT);');
    enableFile(file);
    withDb(file, (db) => db.exec("INSERT INTO log VALUES ('a', 1), ('b', 2); UPDATE log SET level = 9 WHERE msg = 'b'; DELETE FROM log WHERE msg = 'a';"));
    sqliteShell(file, "INSERT INTO log (rowid, msg) VALUES (40, 'c');");
    expect(events(file)).toEqual([
      { type: 'log.created', subject: '1', data: { new: { msg: 'a', level: 1 } } },
      { type: 'log.created', subject: '2', data: { new: { msg: 'b', level: 2 } } },
      { type: 'log.updated', subject: '2', data: { new: { msg: 'b', level: 9 }, old: { msg: 'b', level: 2 } } },
      { type: 'log.deleted', subject: '1', data: { old: { msg: 'a', level: 1 } } },
      { type: 'log.created', subject: '40', data: { new: { msg: 'c', level: null } } },
    ]);
  });

  test('a column named rowid (and one named _rowid_) falls back to the next alias', () => {
    const file = createDb('CREATE TABLE r1 (rowid TEXT, v); CREATE TABLE r2 (rowid TEXT, _rowid_ TEXT, v);');
    enableFile(file);
    withDb(file, (db) => db.exec("INSERT INTO r1 VALUES ('not-the-rowid', 1); INSERT INTO r2 VALUES ('x', 'y', 2); UPDATE r2 SET v = 3;"));
    expect(types(file)).toEqual(['r1.created 1', 'r2.created 1', 'r2.updated 1']);
    expect(events(file)[0]?.data).toEqual({ new: { rowid: 'not-the-rowid', v: 1 } });
  });

  test('a table whose columns shadow rowid, _rowid_ and oid and has no key is skipped with a notice', () => {
    const file = createDb('CREATE TABLE hidden (rowid, _rowid_, oid); CREATE TABLE ok (id INTEGER PRIMARY KEY);');
    const result = enableFile(file);
    expect(result.tables).toEqual(['ok']);
    expect(result.notices.join('\n')).toMatch(/hidden/);
  });

  test('INTEGER PRIMARY KEY DESC is not a rowid alias: NULL and BLOB keys are still recorded', () => {
    const file = createDb('CREATE TABLE d (id INTEGER PRIMARY KEY DESC, v);');
    enableFile(file);
    withDb(file, (db) => {
      db.exec("INSERT INTO d VALUES (NULL, 'null key')");
      db.prepare('INSERT INTO d VALUES (?, ?)').run(Buffer.from([0xab]), 'blob key');
    });
    const rows = events(file);
    expect(rows.map((r) => r.type)).toEqual(['d.created', 'd.created']);
    expect(rows[1]).toEqual({ type: 'd.created', subject: 'AB', data: { new: { id: 'AB', v: 'blob key' } } });
  });

  test('WITHOUT ROWID and STRICT tables', () => {
    const file = createDb(`
      CREATE TABLE wr (a TEXT, b INT, v, PRIMARY KEY (a, b)) WITHOUT ROWID;
      CREATE TABLE st (id INTEGER PRIMARY KEY, n INT, r REAL, t TEXT, b BLOB, x ANY) STRICT;`);
    enableFile(file);
    withDb(file, (db) => {
      db.exec("INSERT INTO wr VALUES ('k', 7, 'v'); UPDATE wr SET v = 'w'; DELETE FROM wr;");
      db.prepare('INSERT INTO st VALUES (1, 2, 2.5, ?, ?, ?)').run('text', Buffer.from('hi'), Buffer.from([1]));
    });
    sqliteShell(file, "UPDATE st SET x = 'any' WHERE id = 1;");
    expect(events(file)).toEqual([
      { type: 'wr.created', subject: 'k:7', data: { new: { a: 'k', b: 7, v: 'v' } } },
      { type: 'wr.updated', subject: 'k:7', data: { new: { a: 'k', b: 7, v: 'w' }, old: { a: 'k', b: 7, v: 'v' } } },
      { type: 'wr.deleted', subject: 'k:7', data: { old: { a: 'k', b: 7, v: 'w' } } },
      { type: 'st.created', subject: '1', data: { new: { id: 1, n: 2, r: 2.5, t: 'text', b: '6869', x: '01' } } },
      {
        type: 'st.updated',
        subject: '1',
        data: { new: { id: 1, n: 2, r: 2.5, t: 'text', b: '6869', x: 'any' }, old: { id: 1, n: 2, r: 2.5, t: 'text', b: '6869', x: '01' } },
      },
    ]);
  });

  test('generated columns, VIRTUAL and STORED, are captured with their values', () => {
    const file = createDb(`
      CREATE TABLE g (id INTEGER PRIMARY KEY, a INT, b INT,
        total INT GENERATED ALWAYS AS (a + b) VIRTUAL,
        label TEXT GENERATED ALWAYS AS ('#' || id) STORED);`);
    enableFile(file);
    withDb(file, (db) => db.exec('INSERT INTO g (id, a, b) VALUES (1, 2, 3); UPDATE g SET b = 10;'));
    sqliteShell(file, 'DELETE FROM g;');
    expect(events(file)).toEqual([
      { type: 'g.created', subject: '1', data: { new: { id: 1, a: 2, b: 3, total: 5, label: '#1' } } },
      { type: 'g.updated', subject: '1', data: { new: { id: 1, a: 2, b: 10, total: 12, label: '#1' }, old: { id: 1, a: 2, b: 3, total: 5, label: '#1' } } },
      { type: 'g.deleted', subject: '1', data: { old: { id: 1, a: 2, b: 10, total: 12, label: '#1' } } },
    ]);
  });
});

function wideTable(name: string, columns: number): string {
  const cols = Array.from({ length: columns - 1 }, (_, i) => `c${i + 1}`);
  return `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, ${cols.join(', ')});`;
}

const PY_WIDE = `
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
table = sys.argv[2]
db.execute(f"INSERT INTO {table} (id, c1, c5, c{int(sys.argv[3]) - 1}) VALUES (10, 'py', 5.5, 'last')")
db.execute(f"UPDATE {table} SET c2 = x'FF' WHERE id = 10")
db.execute(f"DELETE FROM {table} WHERE id = 10")
print(sqlite3.sqlite_version)
`;

describe('wide tables', () => {
  for (const width of [200, 2000]) {
    test(`${width} columns: every column captured, from better-sqlite3, Python's sqlite3 (3.40) and the shell`, () => {
      const file = createDb(wideTable('wide', width));
      enableFile(file);
      withDb(file, (db) => db.exec(`INSERT INTO wide (id, c1, c${width - 1}) VALUES (1, 'a', 'z')`));
      expect(python(file, PY_WIDE, 'wide', String(width)).trim()).toBe('3.40.1');
      sqliteShell(file, `INSERT INTO wide (id, c${width - 1}) VALUES (2, 'shell'); UPDATE wide SET c3 = 3 WHERE id = 2;`);
      const rows = events(file);
      expect(rows.map((r) => `${r.type} ${r.subject}`)).toEqual([
        'wide.created 1',
        'wide.created 10',
        'wide.updated 10',
        'wide.deleted 10',
        'wide.created 2',
        'wide.updated 2',
      ]);
      for (const row of rows) {
        const data = row.data as Record<string, Record<string, unknown>>;
        for (const image of Object.values(data)) {
          expect(Object.keys(image)).toHaveLength(width);
          expect(Object.keys(image)[0]).toBe('id');
          expect(Object.keys(image).at(-1)).toBe(`c${width - 1}`);
        }
      }
      expect(rows[1]?.data).toMatchObject({ new: { id: 10, c1: 'py', c5: 5.5, [`c${width - 1}`]: 'last' } });
      expect(rows[2]?.data).toMatchObject({ new: { c2: 'FF' }, old: { c2: null } });
      expect(rows[4]?.data).toMatchObject({ new: { id: 2, [`c${width - 1}`]: 'shell' } });
    });
  }

  test('2000 columns with --skip-noop-updates: fits the expression depth limit in every client', () => {
    const file = createDb(wideTable('wide', 2000));
    enableFile(file, { skipNoopUpdates: true });
    withDb(file, (db) => db.exec("INSERT INTO wide (id, c1999) VALUES (1, 'z'); UPDATE wide SET c1999 = 'z'; UPDATE wide SET c1999 = 'y';"));
    sqliteShell(file, "UPDATE wide SET c1 = NULL; UPDATE wide SET c1000 = 'shell';");
    python(
      file,
      'import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1], isolation_level=None)\ndb.execute("UPDATE wide SET c1999 = \'y\'")\ndb.execute("UPDATE wide SET c1999 = \'py\'")',
    );
    expect(types(file)).toEqual(['wide.created 1', 'wide.updated 1', 'wide.updated 1', 'wide.updated 1']);
    expect(feed(file).map((r) => (JSON.parse(r.data) as { new: Record<string, unknown> }).new.c1999)).toEqual(['z', 'y', 'y', 'py']);
  });
});

describe('virtual tables', () => {
  test('FTS5 is skipped with a notice; its shadow tables are not captured', () => {
    const file = createDb('CREATE TABLE doc (id INTEGER PRIMARY KEY, body TEXT); CREATE VIRTUAL TABLE doc_fts USING fts5(body);');
    const result = enableFile(file);
    expect(result.tables).toEqual(['doc']);
    expect(result.notices.some((n) => n.includes('doc_fts'))).toBe(true);
    withDb(file, (db) => db.exec("INSERT INTO doc VALUES (1, 'hello'); INSERT INTO doc_fts (rowid, body) VALUES (1, 'hello');"));
    expect(types(file)).toEqual(['doc.created 1']);
    const triggerTables = withDb(file, (db) =>
      db.prepare("SELECT DISTINCT tbl_name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'audite_audit_%'").all(),
    );
    expect(triggerTables).toEqual([{ tbl_name: 'doc' }]);
  });
});
