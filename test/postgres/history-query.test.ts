// The audit queries on a PostgreSQL feed: record history, an actor's changes, filters, field rows, one event.
import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { openPgAuditStore } from '../../src/history/postgres/pg-audit-store.ts';
import { freshPgDatabase } from '../support/postgres.ts';
import { as, auditPg, collect, setTime, T0, withStore, type AuditPg } from './history-support.ts';

const DDL = `
  CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, big bigint, amount numeric, active boolean, prefs jsonb, secret text DEFAULT 'hidden');
  CREATE TABLE orders (id int PRIMARY KEY, status text);
  CREATE SCHEMA sales;
  CREATE TABLE sales.lines (order_id int, line int, qty int, PRIMARY KEY (order_id, line));`;

/**
 * 1 users 1 created (alice)    @ 2024-05-01T00:00Z
 * 2 users 1 renamed (bob)      @ 01:00
 * 3 orders 7 created (alice)   @ 02:00
 * 4 users 1 deleted (carol)    @ 2024-05-02T00:00Z
 * 5 sales.lines 7:1 created (no context) @ 2024-05-02T00:00:00.75Z
 */
async function appDb(options: { historyIndexes?: boolean } = {}): Promise<AuditPg> {
  const db = await auditPg(DDL, { capture: { users: { exclude: ['secret'] }, orders: {}, 'sales.lines': {} }, ...options });
  const { app } = db;
  await as(app, { actor: 'alice', reason: 'signup', requestId: 'req-1' }, () =>
    app.query(
      `INSERT INTO users (id, name, email, big, amount, active, prefs) VALUES (1, 'Al', 'al@x', 9007199254740993, 12345678901234567890.123, true, '{"a": [1, 2]}')`,
    ),
  );
  await as(app, { actor: 'bob', reason: 'typo', impersonatedBy: 'root' }, () => app.query(`UPDATE users SET name = 'Alice', secret = 's' WHERE id = 1`));
  await as(app, { actor: 'alice' }, () => app.query(`INSERT INTO orders VALUES (7, 'new')`));
  await as(app, { actor: 'carol', reason: 'gdpr' }, () => app.query('DELETE FROM users WHERE id = 1'));
  await app.query('INSERT INTO sales.lines VALUES (7, 1, 3)');
  for (const [i, time] of [T0, T0 + 3600, T0 + 7200, T0 + 86_400, T0 + 86_400.75].entries()) await setTime(app, i + 1, time);
  return db;
}

const ids = (events: { id: number }[]): number[] => events.map((e) => e.id);

describe('history of one record', () => {
  test('oldest first, with images in column order, context, exact numbers, booleans and JSON', async () => {
    const { url } = await appDb();
    const events = await withStore(url, (s) => collect(s.history({ tables: ['users'], keys: ['1'] })));
    expect(events.map((e) => [e.id, e.op, e.type, e.table, e.key, e.time])).toEqual([
      [1, 'created', 'users.created', 'users', '1', T0],
      [2, 'updated', 'users.updated', 'users', '1', T0 + 3600],
      [4, 'deleted', 'users.deleted', 'users', '1', T0 + 86_400],
    ]);
    const created = events[0];
    expect(Object.keys(created?.new ?? {})).toEqual(['id', 'name', 'email', 'big', 'amount', 'active', 'prefs']);
    expect(created?.new).toEqual({
      id: 1,
      name: 'Al',
      email: 'al@x',
      big: 9007199254740993n,
      amount: 12345678901234567000,
      active: true,
      prefs: '{"a":[1,2]}',
    });
    expect(created?.context).toEqual({ actor: 'alice', reason: 'signup', impersonatedBy: null, requestId: 'req-1', extra: {} });
    expect(events[1]?.context).toMatchObject({ actor: 'bob', reason: 'typo', impersonatedBy: 'root' });
    expect(events[2]?.old).toMatchObject({ name: 'Alice' });
  });

  test('newest first and limit', async () => {
    const { url } = await appDb();
    const events = await withStore(url, (s) => collect(s.history({ tables: ['users'], keys: ['1'], newestFirst: true, limit: 2 })));
    expect(ids(events)).toEqual([4, 2]);
  });

  test('tables outside public are schema.table; compound keys are joined by colons; names fold like unquoted SQL', async () => {
    const { url } = await appDb();
    await withStore(url, async (s) => {
      expect(ids(await collect(s.history({ tables: ['sales.lines'], keys: ['7:1'] })))).toEqual([5]);
      expect(ids(await collect(s.history({ tables: ['SALES.Lines'], keys: ['7:1'] })))).toEqual([5]);
      expect(ids(await collect(s.history({ tables: ['public.users'], keys: ['1'] })))).toEqual([1, 2, 4]);
    });
  });

  test('a TRUNCATE is part of the history of every row of its table', async () => {
    const db = await auditPg('CREATE TABLE t (id int PRIMARY KEY, v text)', { capture: { t: {} } });
    await db.app.query(`INSERT INTO t VALUES (1, 'a'), (2, 'b')`);
    await as(db.app, { actor: 'ops' }, () => db.app.query('TRUNCATE t'));
    const events = await withStore(db.url, (s) => collect(s.history({ tables: ['t'], keys: ['1'] })));
    expect(events.map((e) => [e.op, e.key, e.context.actor])).toEqual([
      ['created', '1', null],
      ['truncated', '', 'ops'],
    ]);
    const typed = await withStore(db.url, (s) => collect(s.history({ tables: ['t'], ops: ['truncated'] })));
    expect(typed.map((e) => e.op)).toEqual(['truncated']);
  });

  test('an unknown table, a key that never existed, keys without one table', async () => {
    const { url } = await appDb();
    await withStore(url, async (s) => {
      const unknown = await collect(s.history({ tables: ['nope'] })).catch((e: unknown) => e);
      expect(isAuditeError(unknown, 'UNKNOWN_TABLE')).toBe(true);
      expect((unknown as Error).message).toMatch(/no table named "nope" in postgres:\/\/.*, and the feed has no history for one/);
      const key = await collect(s.history({ tables: ['users'], keys: ['999'] })).catch((e: unknown) => e);
      expect(isAuditeError(key, 'NOT_FOUND')).toBe(true);
      expect((key as Error).message).toContain('users "999" has no history');
      const noTable = await collect(s.history({ keys: ['1'] })).catch((e: unknown) => e);
      expect(isAuditeError(noTable, 'INVALID_ARGUMENT')).toBe(true);
    });
  });

  test('a dropped table keeps its history, found by its exact name before a live table that differs only in case', async () => {
    const { url, app } = await appDb();
    await app.query('DROP TABLE orders');
    expect(ids(await withStore(url, (s) => collect(s.history({ tables: ['orders'], keys: ['7'] }))))).toEqual([3]);
    await app.query(`INSERT INTO audite.changefeed (source, subject, type, data) VALUES ('Users', '1', 'Users.created', '{"new": {"id": 1}}')`);
    await withStore(url, async (s) => {
      expect(ids(await collect(s.history({ tables: ['Users'] })))).toEqual([6]);
      expect(ids(await collect(s.history({ tables: ['USERS'], keys: ['1'] })))).toEqual([1, 2, 4]);
    });
  });

  test('a database without a feed is NOT_ENABLED, naming the schema', async () => {
    const { url } = await freshPgDatabase();
    const error = await withStore(url, (s) => collect(s.history({}))).catch((e: unknown) => e);
    expect(isAuditeError(error, 'NOT_ENABLED')).toBe(true);
    expect((error as Error).message).toMatch(/no audite change feed in schema "audite"/);
    const other = await openPgAuditStore(url, { schema: 'elsewhere' });
    const named = await collect(other.history({})).catch((e: unknown) => e);
    await other.close();
    expect((named as Error).message).toMatch(/schema "elsewhere"/);
  });
});

describe('filters', () => {
  test("one actor's changes in a time range, over all tables or some; since inclusive, until exclusive", async () => {
    const { url } = await appDb();
    await withStore(url, async (s) => {
      expect(ids(await collect(s.history({ actors: ['alice'] })))).toEqual([1, 3]);
      expect(ids(await collect(s.history({ actors: ['alice'], since: T0 + 1 })))).toEqual([3]);
      expect(ids(await collect(s.history({ actors: ['alice'], since: T0, until: T0 + 7200 })))).toEqual([1]);
      expect(ids(await collect(s.history({ actors: ['alice', 'carol'], tables: ['users'] })))).toEqual([1, 4]);
      expect(ids(await collect(s.history({ since: T0 + 86_400, until: T0 + 86_401 })))).toEqual([4, 5]);
      expect(ids(await collect(s.history({ until: T0 + 86_400 })))).toEqual([1, 2, 3]);
    });
  });

  test('by type and by field; events without a context have a null actor', async () => {
    const { url } = await appDb();
    await withStore(url, async (s) => {
      expect(ids(await collect(s.history({ ops: ['deleted', 'created'] })))).toEqual([1, 3, 4, 5]);
      expect(ids(await collect(s.history({ tables: ['users'], fields: ['name'] })))).toEqual([1, 2, 4]);
      expect(ids(await collect(s.history({ tables: ['users'], ops: ['updated'], fields: ['email'] })))).toEqual([]);
      const [line] = await collect(s.history({ tables: ['sales.lines'] }));
      expect(line?.context).toEqual({ actor: null, reason: null, impersonatedBy: null, requestId: null, extra: {} });
    });
  });

  test('field-level rows: created lists every field, updated only what changed, deleted every field; limit counts rows', async () => {
    const { url } = await appDb();
    await withStore(url, async (s) => {
      const rows = await collect(s.fieldChanges({ tables: ['users'], keys: ['1'] }));
      expect(rows.filter((r) => r.eventId === 2).map((r) => [r.field, r.old, r.new, r.actor, r.impersonatedBy])).toEqual([
        ['name', 'Al', 'Alice', 'bob', 'root'],
      ]);
      expect(rows.filter((r) => r.eventId === 1).map((r) => r.field)).toEqual(['id', 'name', 'email', 'big', 'amount', 'active', 'prefs']);
      expect(rows.filter((r) => r.eventId === 4).every((r) => r.new === null)).toBe(true);
      const email = await collect(s.fieldChanges({ fields: ['email'] }));
      expect(email.map((r) => [r.eventId, r.old, r.new])).toEqual([
        [1, null, 'al@x'],
        [4, 'al@x', null],
      ]);
      expect(await collect(s.fieldChanges({ tables: ['users'], limit: 3 }))).toHaveLength(3);
    });
  });

  test('a feed with changed-only updates: the row after is old patched with new, and the diff shows only what changed', async () => {
    const db = await auditPg('CREATE TABLE t (id int PRIMARY KEY, a text, b text)');
    await db.app.query(
      `INSERT INTO audite.changefeed (source, subject, type, data) VALUES
        ('t', '1', 't.created', '{"new": {"id": 1, "a": "x", "b": "y"}}'),
        ('t', '1', 't.updated', '{"new": {"b": "z"}, "old": {"id": 1, "a": "x", "b": "y"}}')`,
    );
    const [, update] = await withStore(db.url, (s) => collect(s.history({ tables: ['t'], keys: ['1'] })));
    expect(update?.new).toEqual({ id: 1, a: 'x', b: 'z' });
    const rows = await withStore(db.url, (s) => collect(s.fieldChanges({ tables: ['t'], keys: ['1'], ops: ['updated'] })));
    expect(rows.map((r) => [r.field, r.old, r.new])).toEqual([['b', 'y', 'z']]);
    const version = await withStore(db.url, (s) => s.rowAsOf('t', '1', { eventId: 2 }));
    expect(version).toMatchObject({ exists: true, row: { id: 1, a: 'x', b: 'z' } });
  });
});

describe('one event', () => {
  test('by id; out of range and never-used ids (a rolled-back transaction) are NOT_FOUND', async () => {
    const { url, app } = await appDb();
    await app.query('BEGIN');
    await app.query(`INSERT INTO orders VALUES (8, 'rolled back')`);
    await app.query('ROLLBACK');
    await app.query(`INSERT INTO orders VALUES (9, 'kept')`);
    await withStore(url, async (s) => {
      expect(await s.getEvent(2)).toMatchObject({ id: 2, op: 'updated', old: { name: 'Al' }, new: { name: 'Alice' } });
      const gap = await s.getEvent(6).catch((e: unknown) => e);
      expect(isAuditeError(gap, 'NOT_FOUND')).toBe(true);
      expect((gap as Error).message).toBe('no event 6 in the feed');
      const beyond = await s.getEvent(99).catch((e: unknown) => e);
      expect((beyond as Error).message).toBe("event id 99 is out of range: the feed's events are 1..7");
    });
  });
});
