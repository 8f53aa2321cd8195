import { describe, expect, test } from 'vitest';
import { enable } from '../../src/capture/enable.ts';
import { getEvent } from '../../src/history/get-event.ts';
import { recordHistory } from '../../src/history/history-query.ts';
import { planRestore, type RestoreOptions } from '../../src/history/restore-plan.ts';
import { restore } from '../../src/history/restore.ts';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import { as, auditDb, headId, setTime, snapshot, T0, withDb, type Db } from './support.ts';

const USERS = `CREATE TABLE users (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, big INTEGER, avatar BLOB, score REAL, secret TEXT DEFAULT 'hidden',
  shout TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL)`;

function withLib<T>(file: string, fn: (db: ReturnType<typeof openDatabase>) => T): T {
  const db = openDatabase(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const run = (file: string, options: RestoreOptions) => withLib(file, (db) => restore(db, options));
const row = (db: Db, sql: string): unknown => db.prepare(sql).safeIntegers(true).get();

/** users 1: created (1), renamed + big changed (2), deleted (3). */
function deletedUser(extraDdl = ''): string {
  const file = auditDb(`${USERS}; ${extraDdl}`, { excludeColumns: { users: ['secret'] } });
  withDb(file, (db) => {
    as(db, { actor: 'alice' }, () =>
      db.prepare("INSERT INTO users (id, name, email, big, avatar, score, secret) VALUES (1, 'Al', 'al@x', 9007199254740993, x'00CAFE', 2.0, 's1')").run(),
    );
    db.prepare("UPDATE users SET name = 'Alice', big = 9223372036854775807 WHERE id = 1").run();
    as(db, { actor: 'mallory', reason: 'oops' }, () => db.prepare('DELETE FROM users WHERE id = 1').run());
  });
  return file;
}

describe('restore', () => {
  test('undeletes a row: INSERT with exact integers, BLOBs as BLOBs, REAL as REAL; excluded columns get defaults', () => {
    const file = deletedUser();
    const result = run(file, { table: 'users', key: '1', to: { eventId: 2 }, context: { actor: 'ops' } });
    expect(result).toMatchObject({ applied: true, action: 'insert', restoredEventId: 2, eventIds: [4] });
    withDb(file, (db) => {
      expect(row(db, 'SELECT name, big, typeof(big) AS tb, avatar, typeof(score) AS ts, secret, shout FROM users WHERE id = 1')).toEqual({
        name: 'Alice',
        big: 9223372036854775807n,
        tb: 'integer',
        avatar: Buffer.from([0x00, 0xca, 0xfe]),
        ts: 'real',
        secret: 'hidden',
        shout: 'ALICE',
      });
    });
    // The restore is itself captured, who and why included.
    const event = withLib(file, (db) => getEvent(db, 4));
    expect(event.op).toBe('created');
    expect(event.context).toEqual({ actor: 'ops', reason: 'restore', impersonatedBy: null, requestId: null, extra: { restored_event_id: 2 } });
    expect(withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM audite_context').get())).toEqual({ n: 0 });
  });

  test('rolls an existing row back: UPDATE of the captured columns that differ, others untouched', () => {
    const file = auditDb(USERS, { excludeColumns: { users: ['secret'] } });
    withDb(file, (db) => {
      db.prepare("INSERT INTO users (id, name, email, big) VALUES (1, 'Al', 'al@x', 1)").run(); // 1
      db.prepare("UPDATE users SET name = 'Bob', email = 'bob@x', secret = 'changed' WHERE id = 1").run(); // 2
    });
    const result = run(file, { table: 'users', key: '1', to: { eventId: 1 } });
    expect(result.action).toBe('update');
    expect(result.changes.map((d) => [d.field, d.old, d.new])).toEqual([
      ['name', 'Bob', 'Al'],
      ['email', 'bob@x', 'al@x'],
    ]);
    withDb(file, (db) => {
      expect(row(db, 'SELECT name, email, secret FROM users')).toEqual({ name: 'Al', email: 'al@x', secret: 'changed' });
      const last = recordHistory(openDatabase(file, { readonly: true }), 'users', '1').at(-1);
      expect(last?.op).toBe('updated');
      expect(last?.context.reason).toBe('restore');
      expect(last?.context.extra).toEqual({ restored_event_id: 1 });
    });
  });

  test('a row already at that version: nothing to do, nothing written', () => {
    const file = deletedUser();
    run(file, { table: 'users', key: '1', to: { eventId: 2 } });
    const before = snapshot(file);
    expect(run(file, { table: 'users', key: '1', to: { eventId: 2 } })).toMatchObject({ applied: false, action: 'none', eventIds: [] });
    expect(snapshot(file)).toBe(before);
  });

  test('by time', () => {
    const file = deletedUser();
    withDb(file, (db) => [1, 2, 3].forEach((id) => setTime(db, id, T0 + id * 60)));
    expect(run(file, { table: 'users', key: '1', to: { time: T0 + 60 } })).toMatchObject({ action: 'insert', restoredEventId: 1 });
    expect(withDb(file, (db) => row(db, 'SELECT name FROM users'))).toEqual({ name: 'Al' });
  });

  test('dry run: writes nothing, and its script does what restore would', () => {
    const file = deletedUser();
    const before = snapshot(file);
    const plan = withLib(file, (db) => planRestore(db, { table: 'users', key: '1', to: { eventId: 2 }, context: { actor: "o'neil" } }));
    expect(snapshot(file)).toBe(before);
    expect(plan.script[0]).toBe('BEGIN IMMEDIATE;');
    expect(plan.script.join('\n')).toContain(
      `INSERT INTO "users" ("id", "name", "email", "big", "avatar", "score") VALUES (1, 'Alice', 'al@x', 9223372036854775807, X'00CAFE', 2.0);`,
    );
    withDb(file, (db) => db.exec(plan.script.join('\n')));
    withDb(file, (db) => {
      expect(row(db, 'SELECT big, hex(avatar) AS avatar, typeof(score) AS ts FROM users')).toEqual({ big: 9223372036854775807n, avatar: '00CAFE', ts: 'real' });
      expect(JSON.parse((db.prepare('SELECT context FROM audite_changefeed ORDER BY id DESC').get() as { context: string }).context)).toEqual({
        actor: "o'neil",
        reason: 'restore',
        restored_event_id: 2,
      });
    });
  });

  test('a key that changed: the old key comes back as an INSERT, unless a UNIQUE column collides', () => {
    const file = auditDb(USERS);
    withDb(file, (db) => {
      db.prepare("INSERT INTO users (id, name, email) VALUES (1, 'Al', 'al@x')").run(); // 1
      db.prepare('UPDATE users SET id = 2 WHERE id = 1').run(); // 2 deleted(1), 3 created(2)
    });
    const before = snapshot(file);
    expect(() => run(file, { table: 'users', key: '1', to: { eventId: 1 } })).toThrow(
      expect.objectContaining({ code: 'RESTORE_CONFLICT', message: expect.stringContaining('UNIQUE constraint failed: users.email') }),
    );
    expect(snapshot(file)).toBe(before);
    withDb(file, (db) => db.prepare("UPDATE users SET email = 'new@x' WHERE id = 2").run());
    expect(run(file, { table: 'users', key: '1', to: { eventId: 1 } }).action).toBe('insert');
    expect(withDb(file, (db) => db.prepare('SELECT id, email FROM users ORDER BY id').all())).toEqual([
      { id: 1, email: 'al@x' },
      { id: 2, email: 'new@x' },
    ]);
  });

  test('compound keys and rowid tables', () => {
    const file = auditDb('CREATE TABLE tags (a TEXT, b INTEGER, label TEXT, PRIMARY KEY (a, b)); CREATE TABLE notes (body TEXT)');
    withDb(file, (db) => {
      db.prepare("INSERT INTO tags VALUES ('x:y', 2, 'one')").run(); // 1
      db.prepare("INSERT INTO notes VALUES ('n')").run(); // 2
      db.exec("UPDATE tags SET label = 'two'; DELETE FROM notes"); // 3, 4
    });
    expect(run(file, { table: 'tags', key: 'x:y:2', to: { eventId: 1 } }).action).toBe('update');
    expect(run(file, { table: 'notes', key: '1', to: { eventId: 2 } }).action).toBe('insert');
    withDb(file, (db) => {
      expect(db.prepare('SELECT label FROM tags').get()).toEqual({ label: 'one' });
      expect(db.prepare('SELECT rowid, body FROM notes').get()).toEqual({ rowid: 1, body: 'n' });
    });
  });

  describe('refuses, naming the column or constraint, and writes nothing', () => {
    const refused = (file: string, options: RestoreOptions, code: string, text: string): void => {
      const before = snapshot(file);
      expect(() => run(file, options)).toThrow(expect.objectContaining({ code, message: expect.stringContaining(text) }));
      expect(snapshot(file)).toBe(before);
    };

    test('a column that no longer exists', () => {
      const file = deletedUser();
      withDb(file, (db) => {
        // The triggers name every column: drop them for the migration, re-enable after.
        for (const { name } of db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'users'").all() as { name: string }[])
          db.exec(`DROP TRIGGER "${name}"`);
        db.exec('ALTER TABLE users DROP COLUMN score');
      });
      reEnable(file);
      refused(file, { table: 'users', key: '1', to: { eventId: 2 } }, 'RESTORE_CONFLICT', 'column "score" no longer exists');
    });

    test('a NOT NULL column added since, without a default', () => {
      const file = deletedUser();
      withDb(file, (db) => {
        // SQLite cannot ADD a NOT NULL column without a default; rebuild the table as a migration would.
        db.exec(`CREATE TABLE users2 (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, big INTEGER, avatar BLOB, score REAL, secret TEXT DEFAULT 'hidden', shout TEXT GENERATED ALWAYS AS (upper(name)) VIRTUAL, tenant TEXT NOT NULL);
          DROP TABLE users; ALTER TABLE users2 RENAME TO users;`);
      });
      reEnable(file);
      refused(file, { table: 'users', key: '1', to: { eventId: 2 } }, 'RESTORE_CONFLICT', 'column "tenant" is NOT NULL');
    });

    test('a CHECK constraint the old version violates', () => {
      const file = auditDb('CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER)');
      withDb(file, (db) => {
        db.prepare('INSERT INTO items VALUES (1, -5)').run(); // 1
        db.prepare('UPDATE items SET qty = 3').run(); // 2
        db.exec(`CREATE TABLE items2 (id INTEGER PRIMARY KEY, qty INTEGER CONSTRAINT qty_positive CHECK (qty > 0));
          INSERT INTO items2 SELECT * FROM items; DROP TABLE items; ALTER TABLE items2 RENAME TO items;`);
      });
      reEnable(file);
      refused(file, { table: 'items', key: '1', to: { eventId: 1 } }, 'RESTORE_CONFLICT', 'CHECK constraint failed: qty_positive');
    });

    test('a column that became NOT NULL, where the version had NULL', () => {
      const file = auditDb('CREATE TABLE items (id INTEGER PRIMARY KEY, qty INTEGER)');
      withDb(file, (db) => {
        db.prepare('INSERT INTO items VALUES (1, NULL)').run();
        db.prepare('UPDATE items SET qty = 3').run();
        db.exec(
          'CREATE TABLE items2 (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL); INSERT INTO items2 SELECT * FROM items; DROP TABLE items; ALTER TABLE items2 RENAME TO items;',
        );
      });
      reEnable(file);
      refused(file, { table: 'items', key: '1', to: { eventId: 1 } }, 'RESTORE_CONFLICT', 'column "qty" is NOT NULL');
    });

    test('a table that is not tracked', () => {
      const file = auditDb(`${USERS}; CREATE TABLE plain (id INTEGER PRIMARY KEY)`, { excludeTables: ['plain'] });
      refused(file, { table: 'plain', key: '1', to: { eventId: 1 } }, 'NOT_ENABLED', 'not tracked');
    });

    test('an unknown table, a key without history, a deleted version, an event id out of range', () => {
      const file = deletedUser();
      refused(file, { table: 'nope', key: '1', to: { eventId: 1 } }, 'UNKNOWN_TABLE', 'nope');
      refused(file, { table: 'users', key: '42', to: { eventId: 1 } }, 'NOT_FOUND', 'no history');
      refused(file, { table: 'users', key: '1', to: { eventId: 3 } }, 'NOT_FOUND', 'restore to event 2 (--to 2)');
      refused(file, { table: 'users', key: '1', to: { eventId: headId_(file) + 1 } }, 'NOT_FOUND', 'out of range');
    });
  });
});

function headId_(file: string): number {
  return withDb(file, headId);
}

/** Refresh the triggers after a migration, as an operator re-runs `audite enable`. */
function reEnable(file: string): void {
  withLib(file, (db) => enable(db));
}
