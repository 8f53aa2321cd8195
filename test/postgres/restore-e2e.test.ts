// restore end to end on PostgreSQL with audite's real capture (enablePostgres): the restore is captured by the triggers like any change.
import { describe, expect, test } from 'vitest';
import { enablePostgres, type PgEnableOptions } from '../../src/capture/postgres/pg-enable.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import { runCli } from '../support/cli.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';
import { as, collect, headId, pgSnapshot, withStore } from './history-support.ts';

const DDL = `
  CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, email text UNIQUE, big bigint, amount numeric, secret text DEFAULT 'hidden');
  CREATE SCHEMA sales;
  CREATE TABLE sales.lines (order_id int, line int, qty int, PRIMARY KEY (order_id, line));`;

async function enabled(options: PgEnableOptions = {}) {
  const { url } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(DDL);
  const client = await connectPostgres(url);
  try {
    await enablePostgres(client, { tables: ['users', 'sales.lines'], excludeColumns: { users: ['secret'] }, historyIndexes: true, ...options });
  } finally {
    await client.end();
  }
  return { url, app };
}

describe('restore with the real capture triggers', () => {
  test('undelete and roll back, recorded by the triggers with reason restore and the restored event id', async () => {
    const { url, app } = await enabled();
    await as(app, { actor: 'alice' }, () =>
      app.query(`INSERT INTO users (id, name, email, big, amount, secret) VALUES (1, 'Al', 'al@x', 9007199254740993, 0.1, 's')`),
    );
    await app.query(`UPDATE users SET name = 'Alice', amount = 12345678901234567890.123456789 WHERE id = 1`);
    await as(app, { actor: 'mallory' }, () => app.query('DELETE FROM users WHERE id = 1'));
    expect(await headId(app)).toBe(3);

    const undelete = await withStore(url, (s) => s.restore({ table: 'users', key: '1', to: { eventId: 2 }, context: { actor: 'ops', requestId: 'r-9' } }));
    expect(undelete).toMatchObject({ applied: true, action: 'insert', restoredEventId: 2, eventIds: [4] });
    expect((await app.query('SELECT name, big::text, amount::text, secret FROM users')).rows).toEqual([
      { name: 'Alice', big: '9007199254740993', amount: '12345678901234567890.123456789', secret: 'hidden' },
    ]);
    const event = await withStore(url, (s) => s.getEvent(4));
    expect(event).toMatchObject({ op: 'created', table: 'users', key: '1' });
    expect(event.context).toEqual({ actor: 'ops', reason: 'restore', impersonatedBy: null, requestId: 'r-9', extra: { restored_event_id: 2 } });

    const rollback = await withStore(url, (s) => s.restore({ table: 'users', key: '1', to: { eventId: 1 } }));
    expect(rollback).toMatchObject({ applied: true, action: 'update', eventIds: [5] });
    expect(rollback.changes.map((d) => d.field)).toEqual(['name', 'amount']);
    const history = await withStore(url, (s) => collect(s.history({ tables: ['users'], keys: ['1'] })));
    expect(history.map((e) => [e.id, e.op, e.context.reason, e.context.extra.restored_event_id ?? null])).toEqual([
      [1, 'created', null, null],
      [2, 'updated', null, null],
      [3, 'deleted', null, null],
      [4, 'created', 'restore', 2],
      [5, 'updated', 'restore', 1],
    ]);
  });

  test('changed-only updates: the version is rebuilt whole; compound keys in another schema', async () => {
    const { url, app } = await enabled({ changedOnly: true });
    await app.query(`INSERT INTO users (id, name, email, big) VALUES (1, 'Al', 'al@x', 1)`);
    await app.query(`UPDATE users SET name = 'Bob' WHERE id = 1`);
    await app.query(`UPDATE users SET big = 2 WHERE id = 1`);
    const version = await withStore(url, (s) => s.rowAsOf('users', '1', { eventId: 2 }));
    expect(version).toMatchObject({ exists: true, row: { id: 1, name: 'Bob', email: 'al@x', big: 1 } });
    await app.query('DELETE FROM users');
    expect(await withStore(url, (s) => s.restore({ table: 'users', key: '1', to: { eventId: 2 } }))).toMatchObject({ action: 'insert', applied: true });
    expect((await app.query('SELECT name, email, big::int FROM users')).rows).toEqual([{ name: 'Bob', email: 'al@x', big: 1 }]);

    await app.query('INSERT INTO sales.lines VALUES (7, 1, 3)');
    const created = await headId(app);
    await app.query('UPDATE sales.lines SET qty = 9');
    expect(await withStore(url, (s) => s.restore({ table: 'sales.lines', key: '7:1', to: { eventId: created } }))).toMatchObject({ action: 'update' });
    expect((await app.query('SELECT qty FROM sales.lines')).rows).toEqual([{ qty: 3 }]);
  });

  test('after a TRUNCATE the row comes back from the version before it', async () => {
    const { url, app } = await enabled();
    await app.query(`INSERT INTO users (id, name) VALUES (1, 'Al'), (2, 'Bo')`);
    await app.query('TRUNCATE users');
    const gone = await withStore(url, (s) => s.rowAsOf('users', '2', { eventId: 3 }));
    expect(gone).toMatchObject({ exists: false, why: 'deleted', event: { op: 'truncated' } });
    const refused = await withStore(url, (s) => s.restore({ table: 'users', key: '2', to: { eventId: 3 } })).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/did not exist as of event 3 \(event 3 truncated the table; to undelete it, restore to event 2 \(--to 2\)\)/);
    expect(await withStore(url, (s) => s.restore({ table: 'users', key: '2', to: { eventId: 2 } }))).toMatchObject({ action: 'insert', applied: true });
    expect((await app.query('SELECT id::int, name FROM users')).rows).toEqual([{ id: 2, name: 'Bo' }]);
  });

  test('the CLI: dry run writes nothing, then restore, then history shows it', async () => {
    const { url, app } = await enabled();
    await app.query(`INSERT INTO users (id, name) VALUES (1, 'Al')`);
    await app.query('DELETE FROM users');
    const before = await pgSnapshot(app);
    const dry = await runCli(['restore', url, 'users', '1', '--to', '1', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(await pgSnapshot(app)).toBe(before);
    const applied = await runCli(['restore', url, 'users', '1', '--to', '1', '--actor', 'ops']);
    expect(applied.stdout).toBe('restored users "1" to the version of event 1 (inserted); recorded as event 3\n');
    const history = await runCli(['history', url, 'users', '1', '--json']);
    const last = JSON.parse(history.stdout.trimEnd().split('\n').at(-1) ?? '{}') as { context: unknown };
    expect(last.context).toEqual({ actor: 'ops', reason: 'restore', impersonatedBy: null, requestId: null, extra: { restored_event_id: 1 } });
  });
});
