import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { actorChanges, queryHistory, recordHistory } from '../../src/history/history-query.ts';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import { tempDbPath } from '../support/temp.ts';
import { as, auditDb, lib, setTime, T0, withDb } from './support.ts';

const DDL = `
  CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, big INTEGER, avatar BLOB);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER, total REAL);
  CREATE TABLE tags (a TEXT, b INTEGER, label TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
  CREATE TABLE notes (body TEXT);`;

/** users 1: created by alice, renamed by bob, email changed by alice, deleted by carol; plus noise elsewhere. */
function story(): string {
  const file = auditDb(DDL);
  withDb(file, (db) => {
    as(db, { actor: 'alice', reason: 'signup', requestId: 'req-1' }, () =>
      db.prepare("INSERT INTO users VALUES (1, 'Al', 'al@example.com', 9007199254740993, x'00FF')").run(),
    );
    as(db, { actor: 'bob', reason: 'typo', impersonatedBy: 'admin', extra: { ticket: 'T-7' } }, () =>
      db.prepare("UPDATE users SET name = 'Alice' WHERE id = 1").run(),
    );
    db.prepare('INSERT INTO orders VALUES (10, 1, 9.5)').run(); // no context
    as(db, { actor: 'alice' }, () => db.prepare("UPDATE users SET email = 'alice@example.com', big = big + 2 WHERE id = 1").run());
    as(db, { actor: 'alice' }, () => db.prepare("INSERT INTO tags VALUES ('x:y', 2, 'odd key')").run());
    as(db, { actor: 'carol', reason: 'gdpr' }, () => db.prepare('DELETE FROM users WHERE id = 1').run());
    db.prepare("INSERT INTO notes VALUES ('hello')").run();
    // One event per hour from 2024-05-01T00:00Z.
    for (let id = 1; id <= 6; id += 1) setTime(db, id, T0 + (id - 1) * 3600);
  });
  return file;
}

function read<T>(file: string, fn: (db: ReturnType<typeof openDatabase>) => T): T {
  const db = openDatabase(file, { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

describe('history of one record', () => {
  test('oldest first, with images, context and exact integers', () => {
    const file = story();
    const events = read(file, (db) => recordHistory(db, 'users', '1'));
    expect(events.map((e) => [e.id, e.op, e.context.actor])).toEqual([
      [1, 'created', 'alice'],
      [2, 'updated', 'bob'],
      [4, 'updated', 'alice'],
      [6, 'deleted', 'carol'],
    ]);
    expect(events[0]?.new).toEqual({ id: 1, name: 'Al', email: 'al@example.com', big: 9007199254740993n, avatar: '00FF' });
    expect(events[0]?.old).toBeNull();
    expect(events[1]?.context).toEqual({ actor: 'bob', reason: 'typo', impersonatedBy: 'admin', requestId: null, extra: { ticket: 'T-7' } });
    expect(events[2]?.new?.big).toBe(9007199254740995n);
    expect(events[3]?.new).toBeNull();
    expect(events[3]?.old?.email).toBe('alice@example.com');
    expect(events[0]?.time).toBe(T0);
  });

  test('newest first and limit', () => {
    const file = story();
    const events = read(file, (db) => recordHistory(db, 'users', '1', { newestFirst: true, limit: 2 }));
    expect(events.map((e) => e.id)).toEqual([6, 4]);
  });

  test('compound keys use the subject, colons and all; table names are case-insensitive', () => {
    const file = story();
    const events = read(file, (db) => recordHistory(db, 'TAGS', 'x:y:2'));
    expect(events.map((e) => [e.table, e.key, e.op])).toEqual([['tags', 'x:y:2', 'created']]);
  });

  test('a table without a key is addressed by rowid', () => {
    const file = story();
    expect(read(file, (db) => recordHistory(db, 'notes', '1')).map((e) => e.new)).toEqual([{ body: 'hello' }]);
  });

  test('INSERT OR REPLACE and a key change read as deleted + created', () => {
    const file = auditDb(DDL);
    withDb(file, (db) => {
      db.prepare("INSERT INTO users (id, name) VALUES (1, 'a')").run();
      db.prepare("INSERT OR REPLACE INTO users (id, name) VALUES (1, 'b')").run();
      db.prepare('UPDATE users SET id = 2 WHERE id = 1').run();
    });
    read(file, (db) => {
      expect(recordHistory(db, 'users', '1').map((e) => e.op)).toEqual(['created', 'deleted', 'created', 'deleted']);
      expect(recordHistory(db, 'users', '2').map((e) => [e.op, e.new?.name])).toEqual([['created', 'b']]);
    });
  });

  test('an unknown table, a key that never existed, keys without one table', () => {
    const file = story();
    read(file, (db) => {
      expect(() => recordHistory(db, 'nope', '1')).toThrow(expect.objectContaining({ code: 'UNKNOWN_TABLE' }));
      expect(() => recordHistory(db, 'users', '999')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
      expect(() => queryHistory(db, { tables: ['users', 'orders'], keys: ['1'] })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
      expect(() => queryHistory(db, { limit: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    });
  });

  test('a dropped table keeps its history', () => {
    const file = story();
    withDb(file, (db) => db.exec('DROP TABLE orders'));
    expect(read(file, (db) => recordHistory(db, 'orders', '10')).map((e) => e.op)).toEqual(['created']);
  });

  test('a database without a feed is NOT_ENABLED', () => {
    const file = tempDbPath();
    new Database(file).exec('CREATE TABLE t (x)');
    expect(() => read(file, (db) => queryHistory(db))).toThrow(expect.objectContaining({ code: 'NOT_ENABLED' }));
  });
});

describe('filters', () => {
  test("one actor's changes in a time range, over all tables or some", () => {
    const file = story();
    read(file, (db) => {
      // alice: events 1 (00:00), 4 (03:00), tags 5 (04:00).
      expect(actorChanges(db, 'alice').map((e) => e.id)).toEqual([1, 4, 5]);
      expect(actorChanges(db, 'alice', { since: T0 + 3600, until: T0 + 4 * 3600 }).map((e) => e.id)).toEqual([4]);
      expect(actorChanges(db, 'alice', { tables: ['tags'] }).map((e) => e.id)).toEqual([5]);
      expect(queryHistory(db, { actors: ['bob', 'carol'] }).map((e) => e.id)).toEqual([2, 6]);
      expect(actorChanges(db, 'nobody')).toEqual([]);
    });
  });

  test('since is inclusive, until exclusive', () => {
    const file = story();
    read(file, (db) => {
      expect(queryHistory(db, { since: T0 + 3600, until: T0 + 3 * 3600 }).map((e) => e.id)).toEqual([2, 3]);
    });
  });

  test('by type and by field', () => {
    const file = story();
    read(file, (db) => {
      expect(queryHistory(db, { ops: ['deleted'] }).map((e) => e.id)).toEqual([6]);
      expect(queryHistory(db, { tables: ['users'], ops: ['created', 'deleted'] }).map((e) => e.id)).toEqual([1, 6]);
      // email: set at create, changed by event 4, present at delete; not touched by the rename.
      expect(queryHistory(db, { tables: ['users'], fields: ['email'] }).map((e) => e.id)).toEqual([1, 4, 6]);
      expect(queryHistory(db, { tables: ['users'], fields: ['email'], ops: ['updated'], limit: 1 }).map((e) => e.id)).toEqual([4]);
    });
  });

  test('events without a context have a null actor', () => {
    const file = story();
    const [order] = read(file, (db) => recordHistory(db, 'orders', '10'));
    expect(order?.context).toEqual({ actor: null, reason: null, impersonatedBy: null, requestId: null, extra: {} });
  });
});

describe('a feed written by Python audite (no context column)', () => {
  test('reads, with empty context, and an actor filter matches nothing', () => {
    const file = tempDbPath();
    const db = new Database(file);
    db.exec(`CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT);
      CREATE TABLE audite_changefeed (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, subject TEXT NOT NULL, type TEXT NOT NULL,
        time INTEGER NOT NULL DEFAULT (strftime('%s')), specversion TEXT NOT NULL, data JSON);
      INSERT INTO audite_changefeed (source, subject, type, specversion, data) VALUES
        ('post', '1', 'post.created', '1.0', '{"new":{"title":"a","id":1}}'),
        ('post', '1', 'post.updated', '1.0', '{"new":{"title":"b","id":1},"old":{"title":"a","id":1}}');`);
    db.close();
    read(file, (lib) => {
      const events = recordHistory(lib, 'post', '1');
      expect(events.map((e) => [e.op, e.context.actor])).toEqual([
        ['created', null],
        ['updated', null],
      ]);
      expect(actorChanges(lib, 'alice')).toEqual([]);
    });
  });
});

test('the library takes any SqliteDatabase, e.g. the app’s own better-sqlite3 connection', () => {
  const file = story();
  withDb(file, (db) => expect(recordHistory(lib(db), 'users', '1')).toHaveLength(4));
});
