// restore on PostgreSQL: one transaction, recorded as a restore, exact values, refused by name when the old version no longer fits.
import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import type { RestoreOptions } from '../../src/history/restore-plan.ts';
import { pgApp } from '../support/postgres.ts';
import { as, auditPg, headId, pgSnapshot, setTime, T0, withStore, type AuditPg } from './history-support.ts';

const USERS = `CREATE TABLE users (
  id bigint PRIMARY KEY, name text NOT NULL, email text UNIQUE, big bigint, amount numeric, active boolean, prefs jsonb, avatar bytea,
  seen timestamptz, tags text[], secret text DEFAULT 'hidden',
  shout text GENERATED ALWAYS AS (upper(name)) STORED)`;

const restore = (url: string, options: RestoreOptions, busyTimeoutMs?: number) =>
  withStore(url, (s) => s.restore(options), busyTimeoutMs === undefined ? {} : { busyTimeoutMs });
const plan = (url: string, options: RestoreOptions) => withStore(url, (s) => s.planRestore(options));

async function row(db: AuditPg, sql: string): Promise<unknown> {
  return (await db.app.query(sql)).rows[0];
}

/** users 1: created (1, alice), renamed + numbers changed (2), deleted (3, mallory). */
async function deletedUser(extraDdl = ''): Promise<AuditPg> {
  const db = await auditPg(`${USERS}; ${extraDdl}`, { capture: { users: { exclude: ['secret'] } } });
  const { app } = db;
  await as(app, { actor: 'alice' }, () =>
    app.query(`INSERT INTO users (id, name, email, big, amount, active, prefs, avatar, seen, tags, secret)
      VALUES (1, 'Al', 'al@x', 9007199254740993, 1.5, true, '{"n": 9007199254740993, "f": 0.1}', '\\x00cafe', '2024-05-01 10:00:00.123456+00', '{a,"b c"}', 's1')`),
  );
  await app.query(`UPDATE users SET name = 'Alice', big = 9223372036854775807, amount = 12345678901234567890.123456789, active = false WHERE id = 1`);
  await as(app, { actor: 'mallory', reason: 'oops' }, () => app.query('DELETE FROM users WHERE id = 1'));
  return db;
}

const USER_1 = `SELECT name, big::text, amount::text, active, prefs::text, encode(avatar, 'hex') AS avatar, seen = '2024-05-01 10:00:00.123456+00' AS seen,
  tags, secret, shout FROM users WHERE id = 1`;

describe('restore on PostgreSQL', () => {
  test('undeletes a row: every value exact (bigint, numeric, jsonb, bytea, timestamptz, arrays); excluded columns get defaults; generated recomputed', async () => {
    const db = await deletedUser();
    const result = await restore(db.url, { table: 'users', key: '1', to: { eventId: 2 }, context: { actor: 'ops' } });
    expect(result).toMatchObject({ applied: true, action: 'insert', restoredEventId: 2, eventIds: [4] });
    expect(result.notes).toEqual(['shout: generated, recomputed by PostgreSQL', 'secret: not in that version, gets its default']);
    expect(await row(db, USER_1)).toEqual({
      name: 'Alice',
      big: '9223372036854775807',
      amount: '12345678901234567890.123456789',
      active: false,
      prefs: '{"f": 0.1, "n": 9007199254740993}',
      avatar: '00cafe',
      seen: true,
      tags: ['a', 'b c'],
      secret: 'hidden',
      shout: 'ALICE',
    });
    // The restore is itself captured: the keys SQLite's restore writes (actor, reason, restored_event_id), in the same transaction.
    const event = await withStore(db.url, (s) => s.getEvent(4));
    expect(event.op).toBe('created');
    expect(event.context).toEqual({ actor: 'ops', reason: 'restore', impersonatedBy: null, requestId: null, extra: { restored_event_id: 2 } });
    expect(await row(db, 'SELECT context::text AS c FROM audite.changefeed WHERE id = 4')).toEqual({
      c: '{"actor": "ops", "reason": "restore", "restored_event_id": 2}',
    });
  });

  test('rolls an existing row back: UPDATE of the captured columns that differ, others untouched', async () => {
    const db = await auditPg(USERS, { capture: { users: { exclude: ['secret'] } } });
    await db.app.query(`INSERT INTO users (id, name, email, amount) VALUES (1, 'Al', 'al@x', 1.0)`); // 1
    await db.app.query(`UPDATE users SET name = 'Bob', email = 'bob@x', secret = 'changed', amount = 1.00 WHERE id = 1`); // 2
    const result = await restore(db.url, { table: 'users', key: '1', to: { eventId: 1 } });
    expect(result.action).toBe('update');
    // 1.0 and 1.00 are the same numeric: not a change.
    expect(result.changes.map((d) => [d.field, d.old, d.new])).toEqual([
      ['name', 'Bob', 'Al'],
      ['email', 'bob@x', 'al@x'],
    ]);
    expect(await row(db, 'SELECT name, email, secret FROM users')).toEqual({ name: 'Al', email: 'al@x', secret: 'changed' });
    const last = await withStore(db.url, (s) => s.getEvent(3));
    expect(last).toMatchObject({ op: 'updated', context: { reason: 'restore', extra: { restored_event_id: 1 } } });
  });

  test('a row already at that version: nothing to do, nothing written', async () => {
    const db = await deletedUser();
    await restore(db.url, { table: 'users', key: '1', to: { eventId: 2 } });
    const before = await pgSnapshot(db.app);
    const again = await restore(db.url, { table: 'users', key: '1', to: { eventId: 2 } });
    expect(again).toMatchObject({ applied: false, action: 'none', eventIds: [], script: [] });
    expect(await pgSnapshot(db.app)).toBe(before);
  });

  test('by time: the version as of that second', async () => {
    const db = await deletedUser();
    for (const [i, time] of [T0, T0 + 60, T0 + 120].entries()) await setTime(db.app, i + 1, time);
    const result = await restore(db.url, { table: 'users', key: '1', to: { time: T0 + 30 } });
    expect(result).toMatchObject({ restoredEventId: 1, action: 'insert' });
    expect(await row(db, 'SELECT name, big::text FROM users')).toEqual({ name: 'Al', big: '9007199254740993' });
  });

  test('dry run: writes nothing, and its script, run as printed, does what restore would', async () => {
    const db = await deletedUser();
    const before = await pgSnapshot(db.app);
    const dry = await plan(db.url, { table: 'users', key: '1', to: { eventId: 2 }, context: { actor: 'ops' } });
    expect(await pgSnapshot(db.app)).toBe(before);
    expect(dry.script[0]).toBe('BEGIN;');
    expect(dry.script[1]).toBe(`SELECT set_config('audite.reason', 'restore', true), set_config('audite.actor', 'ops', true);`);
    expect(dry.script[2]).toMatch(
      /^INSERT INTO "public"."users" \("id", "name", .*\) SELECT .* FROM jsonb_populate_record\(NULL::"public"."users", '\{.*\}'::jsonb\) AS "audite_r";$/,
    );
    expect(dry.script[2]).toContain('"amount": 12345678901234567890.123456789');
    expect(dry.script.at(-1)).toBe('COMMIT;');
    await db.app.query(dry.script.join('\n'));
    expect(await row(db, USER_1)).toMatchObject({ name: 'Alice', amount: '12345678901234567890.123456789', secret: 'hidden' });
    const event = await withStore(db.url, (s) => s.getEvent(4));
    expect(event.context).toEqual({ actor: 'ops', reason: 'restore', impersonatedBy: null, requestId: null, extra: { restored_event_id: 2 } });
  });

  test('a key that changed: the old key comes back as an INSERT, unless a UNIQUE column collides', async () => {
    const db = await auditPg(USERS, { capture: { users: {} } });
    await db.app.query(`INSERT INTO users (id, name, email) VALUES (1, 'Al', 'al@x')`); // 1
    await db.app.query('UPDATE users SET id = 2 WHERE id = 1'); // 2 deleted 1, 3 created 2
    const clash = await restore(db.url, { table: 'users', key: '1', to: { eventId: 1 } }).catch((e: unknown) => e);
    expect(isAuditeError(clash, 'RESTORE_CONFLICT')).toBe(true);
    expect((clash as Error).message).toMatch(/users "1" to the version of event 1: duplicate key value violates unique constraint "users_email_key"/);
    expect((clash as Error).message).not.toContain('al@x');
    expect(await headId(db.app)).toBe(3);
    await db.app.query(`UPDATE users SET email = 'two@x' WHERE id = 2`);
    expect(await restore(db.url, { table: 'users', key: '1', to: { eventId: 1 } })).toMatchObject({ action: 'insert', applied: true });
    expect((await db.app.query('SELECT id::int FROM users ORDER BY id')).rows).toEqual([{ id: 1 }, { id: 2 }]);
  });

  test('compound keys, schemas other than public, and GENERATED ALWAYS identity keys', async () => {
    const db = await auditPg(
      `CREATE SCHEMA sales; CREATE TABLE sales.lines (order_id int, line int, qty int, PRIMARY KEY (order_id, line));
       CREATE TABLE tickets (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text)`,
      { capture: { 'sales.lines': {}, tickets: {} } },
    );
    await db.app.query('INSERT INTO sales.lines VALUES (7, 1, 3), (7, 2, 5)');
    await db.app.query('DELETE FROM sales.lines WHERE order_id = 7 AND line = 2');
    expect(await restore(db.url, { table: 'sales.lines', key: '7:2', to: { eventId: 2 } })).toMatchObject({ action: 'insert', applied: true });
    expect((await db.app.query('SELECT line, qty FROM sales.lines ORDER BY line')).rows).toEqual([
      { line: 1, qty: 3 },
      { line: 2, qty: 5 },
    ]);
    await db.app.query(`INSERT INTO tickets (title) VALUES ('t')`);
    const created = await headId(db.app);
    await db.app.query('DELETE FROM tickets');
    expect(await restore(db.url, { table: 'tickets', key: '1', to: { eventId: created } })).toMatchObject({ action: 'insert', applied: true });
    expect((await db.app.query('SELECT id, title FROM tickets')).rows).toEqual([{ id: 1, title: 't' }]);
  });

  test('hostile names stay names: quotes, $1 and semicolons in schema, table, key and column names; columns named like our aliases', async () => {
    const table = `"s'p ""x"""."we""ird; DROP TABLE users; --"`;
    const source = `s'p "x".we"ird; DROP TABLE users; --`;
    const db = await auditPg(
      `CREATE SCHEMA "s'p ""x"""; CREATE TABLE ${table} ("k'ey" int PRIMARY KEY, "a$1::jsonb ""y" text, "audite_r" text, "audite_cur" text)`,
      { capture: { [source]: {} } },
    );
    await db.app.query(`INSERT INTO ${table} VALUES (1, '$1::jsonb '' "', 'r', 'c')`);
    await db.app.query(`DELETE FROM ${table}`);
    const dry = await plan(db.url, { table: source, key: '1', to: { eventId: 1 } });
    await db.app.query(dry.script.join('\n'));
    expect((await db.app.query(`SELECT * FROM ${table}`)).rows).toEqual([{ "k'ey": 1, 'a$1::jsonb "y': `$1::jsonb ' "`, audite_r: 'r', audite_cur: 'c' }]);
    await db.app.query(`UPDATE ${table} SET "a$1::jsonb ""y" = 'changed', "audite_cur" = 'x'`);
    expect(await restore(db.url, { table: source, key: '1', to: { eventId: 1 } })).toMatchObject({ action: 'update', applied: true });
    expect((await db.app.query(`SELECT "a$1::jsonb ""y" AS a, "audite_cur" AS cur FROM ${table}`)).rows).toEqual([{ a: `$1::jsonb ' "`, cur: 'c' }]);
  });

  test('waits for a row lock no longer than the busy timeout, then says so', async () => {
    const db = await auditPg(USERS, { capture: { users: {} } });
    await db.app.query(`INSERT INTO users (id, name) VALUES (1, 'Al')`);
    await db.app.query(`UPDATE users SET name = 'Bob' WHERE id = 1`);
    const holder = await pgApp(db.url);
    await holder.query('BEGIN');
    await holder.query('SELECT * FROM users WHERE id = 1 FOR UPDATE');
    const started = Date.now();
    const locked = await restore(db.url, { table: 'users', key: '1', to: { eventId: 1 } }, 300).catch((e: unknown) => e);
    expect(isAuditeError(locked, 'DB_LOCKED')).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);
    await holder.query('ROLLBACK');
    expect(await headId(db.app)).toBe(2);
  });

  describe('refused, naming what no longer fits; nothing written', () => {
    const refused = async (db: AuditPg, options: RestoreOptions, code: string, message: RegExp): Promise<void> => {
      const before = await pgSnapshot(db.app);
      const error = await restore(db.url, options).catch((e: unknown) => e);
      expect(isAuditeError(error)).toBe(true);
      expect((error as { code: string }).code).toBe(code);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toContain('\n');
      expect((error as Error).message).not.toContain('al@x');
      expect(await pgSnapshot(db.app)).toBe(before);
    };
    const to2 = { table: 'users', key: '1', to: { eventId: 2 } };

    test('a column that no longer exists', async () => {
      const db = await deletedUser();
      await db.app.query('ALTER TABLE users DROP COLUMN email');
      await refused(db, to2, 'RESTORE_CONFLICT', /users "1" to the version of event 2: column "email" no longer exists in users; nothing was written/);
    });

    test('a NOT NULL column added since, without a default', async () => {
      const db = await deletedUser();
      await db.app.query('ALTER TABLE users ADD COLUMN tenant int NOT NULL');
      await refused(db, to2, 'RESTORE_CONFLICT', /column "tenant" is NOT NULL without a default/);
    });

    test('a CHECK constraint the old version violates', async () => {
      const db = await deletedUser();
      await db.app.query(`ALTER TABLE users ADD CONSTRAINT name_is_short CHECK (length(name) < 4) NOT VALID`);
      await refused(db, to2, 'RESTORE_CONFLICT', /violates check constraint "name_is_short"/);
    });

    test('a column that became NOT NULL, where the version had NULL', async () => {
      const db = await deletedUser();
      await db.app.query(`ALTER TABLE users ALTER COLUMN seen DROP NOT NULL`);
      await db.app.query(`UPDATE audite.changefeed SET data = jsonb_set(data, '{new,seen}', 'null') WHERE id = 2`);
      await db.app.query(`ALTER TABLE users ALTER COLUMN seen SET NOT NULL`);
      await refused(db, to2, 'RESTORE_CONFLICT', /column "seen" is NOT NULL now but was NULL in that version/);
    });

    test('a type the old value no longer converts to', async () => {
      const db = await deletedUser();
      await db.app.query('ALTER TABLE users ALTER COLUMN email TYPE int USING length(email)');
      await refused(
        db,
        to2,
        'RESTORE_CONFLICT',
        /column "email" \(now integer\) cannot take that version's value: invalid input syntax for type integer; nothing/,
      );
    });

    test('a trigger that refuses the write', async () => {
      const db = await deletedUser();
      await db.app.query(`CREATE FUNCTION no_alice() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.name = 'Alice' THEN RAISE EXCEPTION 'no more Alices'; END IF; RETURN NEW; END $$`);
      await db.app.query('CREATE TRIGGER no_alice BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION no_alice()');
      await refused(db, to2, 'RESTORE_CONFLICT', /to the version of event 2: no more Alices \(the table changed since\); nothing was written/);
    });

    test('a table that is not tracked', async () => {
      const db = await deletedUser('CREATE TABLE plain (id int PRIMARY KEY)');
      await refused(db, { table: 'plain', key: '1', to: { eventId: 1 } }, 'NOT_ENABLED', /table "plain" is not tracked/);
      await db.app.query('ALTER TABLE users DISABLE TRIGGER "!audite_capture_update"');
      await refused(db, to2, 'NOT_ENABLED', /table "users" is not tracked/);
    });

    test('an unknown table, a key without history, a deleted version, an event id out of range, a dropped table', async () => {
      const db = await deletedUser();
      await refused(db, { table: 'nope', key: '1', to: { eventId: 1 } }, 'UNKNOWN_TABLE', /no table named "nope"/);
      await refused(db, { table: 'users', key: '9', to: { eventId: 1 } }, 'NOT_FOUND', /users "9" has no history/);
      await refused(
        db,
        { table: 'users', key: '1', to: { eventId: 3 } },
        'NOT_FOUND',
        /did not exist as of event 3 \(event 3 deleted it; to undelete it, restore to event 2 \(--to 2\)\)/,
      );
      await refused(db, { table: 'users', key: '1', to: { eventId: 99 } }, 'NOT_FOUND', /event id 99 is out of range/);
      await db.app.query('DROP TABLE users');
      await refused(db, to2, 'UNKNOWN_TABLE', /table "users" no longer exists; restore brings back rows, not tables/);
    });
  });

  test('values never pass through JS numbers: a 50-digit numeric that differs only in its last digit is restored', async () => {
    const db = await auditPg('CREATE TABLE m (id int PRIMARY KEY, v numeric)', { capture: { m: {} } });
    await db.app.query(`INSERT INTO m VALUES (1, 1234567890123456789012345678901234567890.0000000001)`);
    await db.app.query(`UPDATE m SET v = 1234567890123456789012345678901234567890.0000000002`);
    expect(await restore(db.url, { table: 'm', key: '1', to: { eventId: 1 } })).toMatchObject({ action: 'update', applied: true });
    expect(await row(db, 'SELECT v::text FROM m')).toEqual({ v: '1234567890123456789012345678901234567890.0000000001' });
  });
});
