import { describe, expect, test } from 'vitest';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import { rowAsOf, type AsOf, type RowVersion } from '../../src/history/point-in-time.ts';
import { as, auditDb, setTime, T0, withDb } from './support.ts';
import Database from 'better-sqlite3';
import { enable } from '../../src/capture/enable.ts';
import { tempDbPath } from '../support/temp.ts';

const DDL = 'CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE other (id INTEGER PRIMARY KEY);';

/** users 1: created @1 (event 2), renamed (3), deleted (5), created again (6). Events minute by minute. */
function lifecycle(): string {
  const file = auditDb(DDL);
  withDb(file, (db) => {
    db.prepare('INSERT INTO other VALUES (1)').run(); // 1
    as(db, { actor: 'a' }, () => db.prepare("INSERT INTO users VALUES (1, 'one')").run()); // 2
    db.prepare("UPDATE users SET name = 'uno' WHERE id = 1").run(); // 3
    db.prepare('INSERT INTO other VALUES (2)').run(); // 4
    db.prepare('DELETE FROM users WHERE id = 1').run(); // 5
    db.prepare("INSERT INTO users VALUES (1, 'again')").run(); // 6
    for (let id = 1; id <= 6; id += 1) setTime(db, id, T0 + id * 60);
  });
  return file;
}

function asOf(file: string, key: string, at: AsOf): RowVersion {
  const db = openDatabase(file, { readonly: true });
  try {
    return rowAsOf(db, 'users', key, at);
  } finally {
    db.close();
  }
}

const state = (v: RowVersion): unknown => (v.exists ? { row: v.row, from: v.event.id, image: v.image } : { gone: v.why, by: v.event.id });

describe('state of a row as of an event id or a time', () => {
  test('walks the lifecycle by event id', () => {
    const file = lifecycle();
    expect(state(asOf(file, '1', { eventId: 1 }))).toEqual({ gone: 'not-yet-created', by: 2 });
    expect(state(asOf(file, '1', { eventId: 2 }))).toEqual({ row: { id: 1, name: 'one' }, from: 2, image: 'new' });
    expect(state(asOf(file, '1', { eventId: 4 }))).toEqual({ row: { id: 1, name: 'uno' }, from: 3, image: 'new' });
    expect(state(asOf(file, '1', { eventId: 5 }))).toEqual({ gone: 'deleted', by: 5 });
    expect(state(asOf(file, '1', { eventId: 6 }))).toEqual({ row: { id: 1, name: 'again' }, from: 6, image: 'new' });
  });

  test('by time: the state after every event stamped at or before it', () => {
    const file = lifecycle();
    expect(state(asOf(file, '1', { time: T0 + 179 }))).toEqual({ row: { id: 1, name: 'one' }, from: 2, image: 'new' });
    expect(state(asOf(file, '1', { time: T0 + 180 }))).toEqual({ row: { id: 1, name: 'uno' }, from: 3, image: 'new' });
    expect(state(asOf(file, '1', { time: T0 + 330 }))).toEqual({ gone: 'deleted', by: 5 });
    expect(state(asOf(file, '1', { time: T0 }))).toEqual({ gone: 'not-yet-created', by: 2 });
  });

  test('a row older than capture: its first event’s old image is the earlier state', () => {
    const file = tempDbPath();
    const raw = new Database(file);
    raw.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users VALUES (1, 'before capture')");
    raw.close();
    const db = openDatabase(file);
    enable(db, { historyIndexes: true });
    db.close();
    withDb(file, (app) => app.prepare("UPDATE users SET name = 'after' WHERE id = 1").run());
    withDb(file, (app) => app.exec('INSERT INTO users VALUES (2, null)')); // moves the head beyond event 1
    expect(state(asOf(file, '1', { time: 0 }))).toEqual({ row: { id: 1, name: 'before capture' }, from: 1, image: 'old' });
  });

  test('an event id beyond the feed, or a key without history, is NOT_FOUND', () => {
    const file = lifecycle();
    expect(() => asOf(file, '1', { eventId: 7 })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => asOf(file, '2', { eventId: 3 })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => asOf(file, '1', { eventId: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
