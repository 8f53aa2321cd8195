// Exact values (64-bit integers) and what to capture: tables, columns, no-op updates, the stored spec.
import { describe, expect, test } from 'vitest';
import { runCli } from '../support/cli.ts';
import { createDb, enableFile, events, feed, python, sqliteShell, types, withDb } from './support.ts';

describe('64-bit integers', () => {
  test('values beyond 2^53 appear exactly in the feed text, from every client', () => {
    const file = createDb('CREATE TABLE n (id INTEGER PRIMARY KEY, big INT, small INT, r REAL);');
    enableFile(file);
    withDb(file, (db) => db.prepare('INSERT INTO n VALUES (?, ?, ?, ?)').run(9007199254740993n, 9223372036854775807n, -9223372036854775808n, 0.1));
    sqliteShell(file, 'INSERT INTO n VALUES (-9223372036854775808, 9007199254740993, -9007199254740993, 1e300);');
    python(
      file,
      'import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.execute("UPDATE n SET big = ? WHERE id = ?", (2**63 - 1, 2**53 + 1))\ndb.commit()',
    );
    const rows = feed(file);
    expect(rows[0]?.subject).toBe('9007199254740993');
    expect(rows[0]?.data).toBe('{"new":{"id":9007199254740993,"big":9223372036854775807,"small":-9223372036854775808,"r":0.1}}');
    expect(rows[1]?.subject).toBe('-9223372036854775808');
    expect(rows[1]?.data).toContain('"id":-9223372036854775808,"big":9007199254740993,"small":-9007199254740993');
    expect(rows[2]?.type).toBe('n.updated');
    expect(rows[2]?.data).toContain('"big":9223372036854775807');
    const view = withDb(file, (db) => (db.prepare('SELECT cloudevent FROM audite_cloudevent WHERE id = 1').get() as { cloudevent: string }).cloudevent);
    expect(view).toContain('"subject":"9007199254740993"');
    expect(view).toContain('"small":-9223372036854775808');
  });
});

const SCHEMA = `
  CREATE TABLE account (id INTEGER PRIMARY KEY, name TEXT, password_hash TEXT, ssn TEXT);
  CREATE TABLE session (token TEXT PRIMARY KEY, account_id INT);
  CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT);`;

describe('what is captured', () => {
  test('--table captures only those tables; --exclude-table leaves tables out', async () => {
    const file = createDb(SCHEMA);
    const result = await runCli(['enable', file, '--table', 'account', '--table', 'note', '--exclude-table', 'note']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/capturing 1 table\(s\): account/);
    sqliteShell(file, "INSERT INTO account (id, name) VALUES (1, 'a'); INSERT INTO session VALUES ('t', 1); INSERT INTO note VALUES (1, 'n');");
    expect(types(file)).toEqual(['account.created 1']);

    const other = createDb(SCHEMA);
    expect((await runCli(['enable', other, '--exclude-table', 'session'])).code).toBe(0);
    sqliteShell(other, "INSERT INTO account (id, name) VALUES (1, 'a'); INSERT INTO session VALUES ('t', 1); INSERT INTO note VALUES (1, 'n');");
    expect(types(other)).toEqual(['account.created 1', 'note.created 1']);
  });

  test('an excluded column never appears anywhere in the feed, and a plain re-run keeps it excluded', async () => {
    const file = createDb(SCHEMA);
    const secret = 'hunter2-SECRET';
    const result = await runCli(['enable', file, '--exclude-column', 'account.password_hash', '--exclude-column', 'account.ssn']);
    expect(result.code).toBe(0);
    const write = (): string =>
      sqliteShell(
        file,
        `INSERT INTO account (id, name, password_hash, ssn) VALUES (1, 'ann', '${secret}', '${secret}-ssn'); UPDATE account SET password_hash = '${secret}2'; UPDATE account SET name = 'bob'; REPLACE INTO account (id, name, password_hash, ssn) VALUES (1, 'cy', '${secret}3', 'x'); DELETE FROM account;`,
      );
    write();
    // A plain re-run (and a schema change forcing a rebuild) must not bring the column back.
    expect((await runCli(['enable', file])).stdout).toMatch(/up to date/);
    sqliteShell(file, 'ALTER TABLE account ADD COLUMN extra TEXT;');
    expect((await runCli(['enable', file])).code).toBe(0);
    write();
    const rows = withDb(file, (db) => db.prepare('SELECT * FROM audite_changefeed').all() as Record<string, unknown>[]);
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(JSON.stringify(row)).not.toContain('password_hash');
    }
    const staged = withDb(file, (db) => JSON.stringify(db.prepare('SELECT * FROM audite_replaced').all()));
    expect(staged).not.toContain(secret);
    const data = events(file)[0]?.data;
    expect(data).toEqual({ new: { id: 1, name: 'ann' } });
  });

  test('column exclusions add up across runs; --include-column takes one back', async () => {
    const file = createDb(SCHEMA);
    expect((await runCli(['enable', file, '--exclude-column', 'account.password_hash'])).code).toBe(0);
    // Excluding one more column must not quietly capture the first one again.
    expect((await runCli(['enable', file, '--exclude-column', 'Account.SSN'])).code).toBe(0);
    sqliteShell(file, "INSERT INTO account VALUES (1, 'ann', 'h', 's');");
    expect(events(file).at(-1)?.data).toEqual({ new: { id: 1, name: 'ann' } });
    expect((await runCli(['enable', file, '--include-column', 'account.ssn'])).code).toBe(0);
    sqliteShell(file, "INSERT INTO account VALUES (2, 'bob', 'h', 's');");
    expect(events(file).at(-1)?.data).toEqual({ new: { id: 2, name: 'bob', ssn: 's' } });
    const notExcluded = await runCli(['enable', file, '--include-column', 'account.name']);
    expect(notExcluded.code).toBe(64);
    expect(notExcluded.stderr).toMatch(/not an excluded column/);
  });

  test('library exclusions match table and column names case-insensitively, as SQLite does', () => {
    const file = createDb(SCHEMA);
    enableFile(file, { excludeColumns: { ACCOUNT: ['Password_Hash'] } });
    withDb(file, (db) => db.exec("INSERT INTO account VALUES (1, 'ann', 'secret', 's')"));
    expect(feed(file)[0]?.data).not.toContain('secret');
  });

  test('an excluded column that was dropped blocks enable with an actionable message', async () => {
    const file = createDb(SCHEMA);
    expect((await runCli(['enable', file, '--exclude-column', 'account.ssn'])).code).toBe(0);
    sqliteShell(file, 'ALTER TABLE account DROP COLUMN ssn; ALTER TABLE account ADD COLUMN plan TEXT;');
    const blocked = await runCli(['enable', file]);
    expect(blocked.code).toBe(64);
    expect(blocked.stderr).toMatch(/--include-column account\.ssn/);
    expect((await runCli(['enable', file, '--include-column', 'account.ssn'])).code).toBe(0);
    sqliteShell(file, "INSERT INTO account (id, plan) VALUES (1, 'pro');");
    expect(events(file).at(-1)?.data).toEqual({ new: { id: 1, name: null, password_hash: null, plan: 'pro' } });
  });

  test('a primary-key column cannot be excluded; a column that does not exist is refused', async () => {
    const file = createDb(SCHEMA);
    const pk = await runCli(['enable', file, '--exclude-column', 'session.token']);
    expect(pk.code).toBe(64);
    expect(pk.stderr).toMatch(/primary key/);
    const missing = await runCli(['enable', file, '--exclude-column', 'account.nope']);
    expect(missing.code).toBe(64);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
  });

  test('--skip-noop-updates: no event for an update that changed nothing; real changes still recorded', () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT COLLATE NOCASE, w);');
    enableFile(file, { skipNoopUpdates: true });
    withDb(file, (db) =>
      db.exec("INSERT INTO t VALUES (1, 'a', NULL); UPDATE t SET v = 'a'; UPDATE t SET w = NULL; UPDATE t SET v = 'A'; UPDATE t SET w = 0;"),
    );
    sqliteShell(file, 'UPDATE t SET v = v; UPDATE t SET w = 1;');
    expect(events(file).map((e) => [e.type, e.data])).toEqual([
      ['t.created', { new: { id: 1, v: 'a', w: null } }],
      ['t.updated', { new: { id: 1, v: 'A', w: null }, old: { id: 1, v: 'a', w: null } }],
      ['t.updated', { new: { id: 1, v: 'A', w: 0 }, old: { id: 1, v: 'A', w: null } }],
      ['t.updated', { new: { id: 1, v: 'A', w: 1 }, old: { id: 1, v: 'A', w: 0 } }],
    ]);
  });

  test('by default a no-op update is recorded, as audite does', () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, v);');
    enableFile(file);
    withDb(file, (db) => db.exec('INSERT INTO t VALUES (1, 1); UPDATE t SET v = 1;'));
    expect(types(file)).toEqual(['t.created 1', 't.updated 1']);
  });

  test('--skip-noop-updates ignores an update that only touches an excluded column', () => {
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY, v, seen_at);');
    enableFile(file, { skipNoopUpdates: true, excludeColumns: { t: ['seen_at'] } });
    withDb(file, (db) => db.exec('INSERT INTO t VALUES (1, 1, 0); UPDATE t SET seen_at = 5; UPDATE t SET v = 2;'));
    expect(types(file)).toEqual(['t.created 1', 't.updated 1']);
  });

  test('a NOCASE key changing only its case is a new subject: deleted + created', () => {
    const file = createDb('CREATE TABLE ci (name TEXT PRIMARY KEY COLLATE NOCASE, v);');
    enableFile(file);
    withDb(file, (db) => db.exec("INSERT INTO ci VALUES ('bob', 1); UPDATE ci SET name = 'Bob';"));
    expect(types(file)).toEqual(['ci.created bob', 'ci.deleted bob', 'ci.created Bob']);
  });
});
