import { describe, expect, test } from 'vitest';
import { fieldChanges } from '../../src/history/field-changes.ts';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import { as, auditDb, setTime, T0, withDb } from './support.ts';

function db(): string {
  const file = auditDb(`
    CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, big INTEGER);
    CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT);`);
  withDb(file, (db) => {
    as(db, { actor: 'alice', reason: 'signup' }, () => db.prepare("INSERT INTO users VALUES (1, 'Al', 'a@x', 9223372036854775807)").run()); // 1
    as(db, { actor: 'bob', reason: 'typo', impersonatedBy: 'root', requestId: 'r-9' }, () =>
      db.prepare("UPDATE users SET name = 'Alice', big = big - 1 WHERE id = 1").run(),
    ); // 2
    as(db, { actor: 'bob' }, () => db.prepare("INSERT INTO orders VALUES (7, 'new')").run()); // 3
    as(db, { actor: 'alice' }, () => db.prepare("UPDATE orders SET status = 'paid' WHERE id = 7").run()); // 4
    db.prepare("UPDATE users SET email = 'alice@x' WHERE id = 1").run(); // 5, no context
    as(db, { actor: 'carol' }, () => db.prepare('DELETE FROM users WHERE id = 1').run()); // 6
    for (let id = 1; id <= 6; id += 1) setTime(db, id, T0 + id * 60);
  });
  return file;
}

function changes(file: string, filter: Parameters<typeof fieldChanges>[1]): ReturnType<typeof fieldChanges> {
  const handle = openDatabase(file, { readonly: true });
  try {
    return fieldChanges(handle, filter);
  } finally {
    handle.close();
  }
}

const brief = (rows: ReturnType<typeof fieldChanges>): unknown[] => rows.map((r) => [r.eventId, r.op, r.field, r.old, r.new, r.actor]);

describe('field-level changes', () => {
  test('created: every field with old null; updated: only what changed; deleted: new null', () => {
    const rows = changes(db(), { tables: ['users'], keys: ['1'] });
    expect(brief(rows)).toEqual([
      [1, 'created', 'id', null, 1, 'alice'],
      [1, 'created', 'name', null, 'Al', 'alice'],
      [1, 'created', 'email', null, 'a@x', 'alice'],
      [1, 'created', 'big', null, 9223372036854775807n, 'alice'],
      [2, 'updated', 'name', 'Al', 'Alice', 'bob'],
      [2, 'updated', 'big', 9223372036854775807n, 9223372036854775806n, 'bob'],
      [5, 'updated', 'email', 'a@x', 'alice@x', null],
      [6, 'deleted', 'id', 1, null, 'carol'],
      [6, 'deleted', 'name', 'Alice', null, 'carol'],
      [6, 'deleted', 'email', 'alice@x', null, 'carol'],
      [6, 'deleted', 'big', 9223372036854775806n, null, 'carol'],
    ]);
  });

  test('every row carries when, who and why', () => {
    const [row] = changes(db(), { tables: ['users'], keys: ['1'], ops: ['updated'], fields: ['name'] });
    expect(row).toMatchObject({
      eventId: 2,
      type: 'users.updated',
      table: 'users',
      key: '1',
      field: 'name',
      old: 'Al',
      new: 'Alice',
      time: T0 + 120,
      actor: 'bob',
      reason: 'typo',
      impersonatedBy: 'root',
      requestId: 'r-9',
    });
  });

  test('filter by field names, actors, time range, record ids; limit counts rows', () => {
    const file = db();
    expect(brief(changes(file, { fields: ['email'], ops: ['updated'] }))).toEqual([[5, 'updated', 'email', 'a@x', 'alice@x', null]]);
    expect(brief(changes(file, { actors: ['alice'], since: T0 + 180 }))).toEqual([[4, 'updated', 'status', 'new', 'paid', 'alice']]);
    expect(changes(file, { tables: ['orders'], keys: ['7'] }).map((r) => r.field)).toEqual(['id', 'status', 'status']);
    expect(changes(file, { tables: ['users'], keys: ['1'], limit: 3 })).toHaveLength(3);
    expect(changes(file, { tables: ['users'], keys: ['1'], newestFirst: true, limit: 2 }).map((r) => [r.eventId, r.field])).toEqual([
      [6, 'id'],
      [6, 'name'],
    ]);
  });
});
