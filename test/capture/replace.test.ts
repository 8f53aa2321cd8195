// Conflict resolution: REPLACE, IGNORE, UPSERT, cascades and key changes.
import { describe, expect, test } from 'vitest';
import { createDb, enableFile, events, feed, sqliteShell, types, withDb, type Db } from './support.ts';

const SCHEMA = 'CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INT); CREATE TABLE tag (name TEXT PRIMARY KEY, color TEXT);';

function setup(ddl = SCHEMA): string {
  const file = createDb(ddl);
  enableFile(file);
  return file;
}

function staged(file: string): number {
  return (withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM audite_replaced').get()) as { n: number }).n;
}

describe('INSERT OR REPLACE', () => {
  for (const recursive of [false, true]) {
    test(`PK conflict → deleted(old image) then created, in id order (recursive_triggers=${recursive ? 'ON' : 'OFF'})`, () => {
      const file = setup();
      withDb(file, (db: Db) => {
        db.pragma(`recursive_triggers = ${recursive ? 'ON' : 'OFF'}`);
        db.exec("INSERT INTO item VALUES (1, 'old', 1); INSERT OR REPLACE INTO item VALUES (1, 'new', 2);");
        db.exec("INSERT INTO tag VALUES ('red', 'r'); REPLACE INTO tag VALUES ('red', 'R');");
      });
      expect(events(file)).toEqual([
        { type: 'item.created', subject: '1', data: { new: { id: 1, name: 'old', qty: 1 } } },
        { type: 'item.deleted', subject: '1', data: { old: { id: 1, name: 'old', qty: 1 } } },
        { type: 'item.created', subject: '1', data: { new: { id: 1, name: 'new', qty: 2 } } },
        { type: 'tag.created', subject: 'red', data: { new: { name: 'red', color: 'r' } } },
        { type: 'tag.deleted', subject: 'red', data: { old: { name: 'red', color: 'r' } } },
        { type: 'tag.created', subject: 'red', data: { new: { name: 'red', color: 'R' } } },
      ]);
      const ids = feed(file).map((r) => r.id);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(staged(file)).toBe(0);
    });
  }

  test('the sqlite3 shell (3.40) with recursive_triggers ON records exactly one deleted and one created', () => {
    const file = setup();
    sqliteShell(file, "PRAGMA recursive_triggers = ON; INSERT INTO item VALUES (1, 'a', 1); INSERT OR REPLACE INTO item VALUES (1, 'b', 1);");
    expect(types(file)).toEqual(['item.created 1', 'item.deleted 1', 'item.created 1']);
  });

  test('a multi-row REPLACE records each replaced row once', () => {
    const file = setup();
    withDb(file, (db) =>
      db.exec("INSERT INTO item VALUES (1, 'a', 1), (2, 'b', 2); INSERT OR REPLACE INTO item VALUES (1, 'A', 1), (3, 'C', 3), (2, 'B', 2);"),
    );
    expect(types(file)).toEqual(['item.created 1', 'item.created 2', 'item.deleted 1', 'item.created 1', 'item.created 3', 'item.deleted 2', 'item.created 2']);
  });

  test('REPLACE that removes a row through a UNIQUE constraint other than the key records its deletion', () => {
    const file = setup('CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT);');
    withDb(file, (db) => db.exec("INSERT INTO user VALUES (1, 'a@x', 'ann'); INSERT OR REPLACE INTO user VALUES (2, 'a@x', 'bob');"));
    expect(types(file)).toEqual(['user.created 1', 'user.deleted 1', 'user.created 2']);
    expect(events(file)[1]?.data).toEqual({ old: { id: 1, email: 'a@x', name: 'ann' } });
  });

  test('REPLACE through a compound UNIQUE index, in a WITHOUT ROWID table, removing two rows at once', () => {
    const file = setup('CREATE TABLE s (k TEXT PRIMARY KEY, a INT, b INT, c TEXT UNIQUE, UNIQUE (a, b)) WITHOUT ROWID;');
    withDb(file, (db) => {
      db.exec("INSERT INTO s VALUES ('x', 1, 1, 'cx'), ('y', 2, 2, 'cy')");
      db.exec("INSERT OR IGNORE INTO s VALUES ('z', 1, 1, 'cz')");
      db.exec("INSERT INTO s VALUES ('w', 3, 3, 'cw')");
      db.exec("INSERT OR REPLACE INTO s VALUES ('v', 1, 1, 'cy')");
    });
    expect(types(file)).toEqual(['s.created x', 's.created y', 's.created w', 's.deleted x', 's.deleted y', 's.created v']);
    expect(staged(file)).toBe(0);
  });

  test('REPLACE on a NOCASE key whose case differs still records the removed row', () => {
    const file = setup('CREATE TABLE ci (name TEXT PRIMARY KEY COLLATE NOCASE, v);');
    withDb(file, (db) => db.exec("INSERT INTO ci VALUES ('Alice', 1); INSERT OR REPLACE INTO ci VALUES ('ALICE', 2);"));
    expect(types(file)).toEqual(['ci.created Alice', 'ci.deleted Alice', 'ci.created ALICE']);
  });

  test('an auto-numbered insert next to a row with id -1 records no bogus deletion', () => {
    const file = setup();
    withDb(file, (db) =>
      db.exec("INSERT INTO item VALUES (-1, 'minus', 0); INSERT INTO item (name) VALUES ('auto'); INSERT INTO item (name) VALUES ('auto2');"),
    );
    expect(types(file)).toEqual(['item.created -1', 'item.created 0', 'item.created 1']);
    expect(staged(file)).toBe(0);
  });
});

test('a stage table made by an earlier audite (no rid column) is brought up to date', () => {
  const file = setup();
  withDb(file, (db) =>
    db.exec(
      'DROP TABLE audite_replaced; CREATE TABLE audite_replaced (source TEXT NOT NULL, subject TEXT NOT NULL, data JSON, PRIMARY KEY (source, subject)) WITHOUT ROWID;',
    ),
  );
  expect(enableFile(file).statements).toContain('ALTER TABLE "audite_replaced" ADD COLUMN rid INTEGER');
  withDb(file, (db) => db.exec("INSERT INTO item VALUES (1, 'a', 1); REPLACE INTO item VALUES (1, 'b', 1);"));
  expect(types(file)).toEqual(['item.created 1', 'item.deleted 1', 'item.created 1']);
});

describe('UPDATE OR REPLACE', () => {
  for (const recursive of [false, true]) {
    test(`a row displaced through a UNIQUE column is recorded as deleted, once (recursive_triggers=${recursive ? 'ON' : 'OFF'})`, () => {
      const file = setup('CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT UNIQUE, name TEXT);');
      sqliteShell(
        file,
        `PRAGMA recursive_triggers = ${recursive ? 'ON' : 'OFF'}; INSERT INTO user VALUES (1, 'a', 'ann'), (2, 'b', 'bob'); UPDATE OR REPLACE user SET email = 'a' WHERE id = 2;`,
      );
      expect(types(file)).toEqual(['user.created 1', 'user.created 2', 'user.deleted 1', 'user.updated 2']);
      expect(events(file)[2]?.data).toEqual({ old: { id: 1, email: 'a', name: 'ann' } });
      expect(staged(file)).toBe(0);
    });
  }

  test('a key change onto an existing key records the displaced row, then the move', () => {
    const file = setup();
    withDb(file, (db) => db.exec("INSERT INTO item VALUES (1, 'one', 1), (2, 'two', 2); UPDATE OR REPLACE item SET id = 1 WHERE id = 2;"));
    expect(types(file)).toEqual(['item.created 1', 'item.created 2', 'item.deleted 1', 'item.deleted 2', 'item.created 1']);
    expect(events(file)[2]?.data).toEqual({ old: { id: 1, name: 'one', qty: 1 } });
  });

  test('a constraint declared ON CONFLICT REPLACE displaces rows on a plain UPDATE (WITHOUT ROWID)', () => {
    const file = setup('CREATE TABLE slot (k TEXT PRIMARY KEY, seat INT UNIQUE ON CONFLICT REPLACE) WITHOUT ROWID;');
    withDb(file, (db) =>
      db.exec("INSERT INTO slot VALUES ('a', 1), ('b', 2); UPDATE slot SET seat = 1 WHERE k = 'b'; UPDATE slot SET seat = 3 WHERE k = 'b';"),
    );
    expect(types(file)).toEqual(['slot.created a', 'slot.created b', 'slot.deleted a', 'slot.updated b', 'slot.updated b']);
  });

  test('UPDATE OR IGNORE that conflicts leaves no bogus event behind', () => {
    const file = setup('CREATE TABLE user (id INTEGER PRIMARY KEY, email TEXT UNIQUE); CREATE TABLE w (k TEXT PRIMARY KEY, u INT UNIQUE) WITHOUT ROWID;');
    withDb(file, (db) => {
      db.exec(
        "INSERT INTO user VALUES (1, 'a'), (2, 'b'); UPDATE OR IGNORE user SET email = 'a' WHERE id = 2; UPDATE user SET email = 'c' WHERE id = 2; INSERT INTO user VALUES (3, 'd');",
      );
      db.exec(
        "INSERT INTO w VALUES ('x', 1), ('y', 2); UPDATE OR IGNORE w SET u = 1 WHERE k = 'y'; UPDATE w SET u = 5 WHERE k = 'y'; INSERT INTO w VALUES ('z', 3);",
      );
    });
    expect(types(file)).toEqual([
      'user.created 1',
      'user.created 2',
      'user.updated 2',
      'user.created 3',
      'w.created x',
      'w.created y',
      'w.updated y',
      'w.created z',
    ]);
  });
});

describe('INSERT OR IGNORE and UPSERT', () => {
  test('a conflicting INSERT OR IGNORE records nothing; a later delete + insert of that key has no bogus event', () => {
    const file = setup();
    withDb(file, (db) => {
      db.exec("INSERT INTO tag VALUES ('red', 'r')");
      db.exec("INSERT OR IGNORE INTO tag VALUES ('red', 'ignored')");
      db.exec("INSERT INTO tag VALUES ('blue', 'b')");
      db.exec("DELETE FROM tag WHERE name = 'red'");
      db.exec("INSERT INTO tag VALUES ('red', 'again')");
    });
    expect(types(file)).toEqual(['tag.created red', 'tag.created blue', 'tag.deleted red', 'tag.created red']);
    expect(events(file)[2]?.data).toEqual({ old: { name: 'red', color: 'r' } });
  });

  test('UPSERT ON CONFLICT DO UPDATE records exactly one updated, and leaves nothing staged behind', () => {
    const file = setup();
    withDb(file, (db) => {
      db.exec("INSERT INTO tag VALUES ('red', 'r')");
      for (let i = 0; i < 3; i += 1) db.exec(`INSERT INTO tag VALUES ('red', 'x${i}') ON CONFLICT (name) DO UPDATE SET color = excluded.color`);
      db.exec("INSERT INTO tag VALUES ('new', 'n') ON CONFLICT (name) DO UPDATE SET color = excluded.color");
      db.exec("INSERT INTO tag VALUES ('red', 'zzz') ON CONFLICT DO NOTHING");
    });
    sqliteShell(file, "INSERT INTO tag VALUES ('red', 'shell') ON CONFLICT (name) DO UPDATE SET color = excluded.color;");
    expect(types(file)).toEqual(['tag.created red', 'tag.updated red', 'tag.updated red', 'tag.updated red', 'tag.created new', 'tag.updated red']);
    expect(events(file)[1]?.data).toEqual({ new: { name: 'red', color: 'x0' }, old: { name: 'red', color: 'r' } });
    withDb(file, (db) => db.exec("INSERT INTO tag VALUES ('other', 'o')"));
    expect(types(file).at(-1)).toBe('tag.created other');
    expect(staged(file)).toBe(0);
  });
});

describe('cascades and key changes', () => {
  test('ON DELETE CASCADE child deletions are recorded (writer with foreign_keys ON)', () => {
    const file = setup(`
      CREATE TABLE parent (id INTEGER PRIMARY KEY);
      CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INT REFERENCES parent (id) ON DELETE CASCADE);`);
    sqliteShell(file, 'PRAGMA foreign_keys = ON; INSERT INTO parent VALUES (1); INSERT INTO child VALUES (10, 1), (11, 1); DELETE FROM parent WHERE id = 1;');
    const rows = types(file);
    expect(rows.slice(0, 3)).toEqual(['parent.created 1', 'child.created 10', 'child.created 11']);
    expect(rows.slice(3).sort()).toEqual(['child.deleted 10', 'child.deleted 11', 'parent.deleted 1']);
  });

  test('an UPDATE that changes the key → deleted(old subject) + created(new subject)', () => {
    const file = setup('CREATE TABLE c (a TEXT, b INT, v, PRIMARY KEY (a, b)); CREATE TABLE r (v); CREATE TABLE i (id INTEGER PRIMARY KEY, v);');
    withDb(file, (db) => {
      db.exec("INSERT INTO c VALUES ('x', 1, 'v'); UPDATE c SET b = 2 WHERE a = 'x'; UPDATE c SET v = 'w';");
      db.exec("INSERT INTO r VALUES ('row'); UPDATE r SET rowid = 7;");
      db.exec("INSERT INTO i VALUES (1, 'a'); UPDATE i SET id = 5, v = 'b';");
    });
    expect(events(file)).toEqual([
      { type: 'c.created', subject: 'x:1', data: { new: { a: 'x', b: 1, v: 'v' } } },
      { type: 'c.deleted', subject: 'x:1', data: { old: { a: 'x', b: 1, v: 'v' } } },
      { type: 'c.created', subject: 'x:2', data: { new: { a: 'x', b: 2, v: 'v' } } },
      { type: 'c.updated', subject: 'x:2', data: { new: { a: 'x', b: 2, v: 'w' }, old: { a: 'x', b: 2, v: 'v' } } },
      { type: 'r.created', subject: '1', data: { new: { v: 'row' } } },
      { type: 'r.deleted', subject: '1', data: { old: { v: 'row' } } },
      { type: 'r.created', subject: '7', data: { new: { v: 'row' } } },
      { type: 'i.created', subject: '1', data: { new: { id: 1, v: 'a' } } },
      { type: 'i.deleted', subject: '1', data: { old: { id: 1, v: 'a' } } },
      { type: 'i.created', subject: '5', data: { new: { id: 5, v: 'b' } } },
    ]);
  });
});
