// `audite history`, `show` and `restore` as an operator runs them: real subprocesses on real files.
import { describe, expect, test } from 'vitest';
import { as, auditDb, setTime, snapshot, T0, withDb } from '../history/support.ts';
import { runCli, type CliResult } from '../support/cli.ts';

const DDL = `
  CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, email TEXT, big INTEGER);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT);
  CREATE TABLE plain (id INTEGER PRIMARY KEY, v TEXT);`;

/**
 * 1 users 1 created (alice)   @ 2024-05-01T00:00Z
 * 2 users 1 renamed (bob)     @ 01:00
 * 3 orders 7 created (alice)  @ 02:00
 * 4 users 1 deleted (carol)   @ 2024-05-02T00:00Z
 */
function appDb(options: { historyIndexes?: boolean } = {}): string {
  const file = auditDb(DDL, { excludeTables: ['plain'], historyIndexes: options.historyIndexes ?? true });
  withDb(file, (db) => {
    as(db, { actor: 'alice', reason: 'signup', requestId: 'req-1' }, () => db.prepare("INSERT INTO users VALUES (1, 'Al', 'al@x', 9007199254740993)").run());
    as(db, { actor: 'bob', reason: 'typo', impersonatedBy: 'root' }, () => db.prepare("UPDATE users SET name = 'Alice' WHERE id = 1").run());
    as(db, { actor: 'alice' }, () => db.prepare("INSERT INTO orders VALUES (7, 'new')").run());
    as(db, { actor: 'carol', reason: 'gdpr' }, () => db.prepare('DELETE FROM users WHERE id = 1').run());
    db.prepare("INSERT INTO plain VALUES (1, 'untracked')").run();
    [T0, T0 + 3600, T0 + 7200, T0 + 86_400].forEach((time, i) => setTime(db, i + 1, time));
  });
  return file;
}

const lines = (r: CliResult): string[] => r.stdout.trimEnd().split('\n');
const jsonLines = (r: CliResult): Record<string, unknown>[] => lines(r).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('audite history', () => {
  test('a long history prints as a table in chunks of 1,000 rows, every event once, memory flat', async () => {
    const file = appDb();
    withDb(file, (db) => {
      const rename = db.prepare('UPDATE orders SET status = ? WHERE id = 7');
      db.transaction(() => {
        for (let i = 0; i < 2100; i++) rename.run(`s${i}`);
      })();
    });
    const r = await runCli(['history', file, 'orders', '7']);
    expect(r.code).toBe(0);
    const out = lines(r);
    // Three chunks, each with its header: 1,000 + 1,000 + 101 events (the create and 2,100 updates).
    expect(out.filter((l) => /^ID\s+TIME/.test(l))).toHaveLength(3);
    expect(out.filter((l) => /^\d+\s/.test(l))).toHaveLength(2101);
  });

  test('one record, as a readable table with who and why', async () => {
    const file = appDb();
    const r = await runCli(['history', file, 'users', '1']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = lines(r);
    expect(out[0]).toMatch(/^ID\s+TIME\s+TABLE\s+KEY\s+TYPE\s+ACTOR\s+REASON\s+IMPERSONATED_BY\s+REQUEST_ID\s+CHANGES$/);
    expect(out).toHaveLength(4);
    expect(out[1]).toMatch(/^1\s+2024-05-01T00:00:00Z\s+users\s+1\s+created\s+alice\s+signup\s+req-1\s+id=1, name="Al", email="al@x", big=9007199254740993$/);
    expect(out[2]).toMatch(/^2\s+2024-05-01T01:00:00Z\s+users\s+1\s+updated\s+bob\s+typo\s+root\s+name: "Al" → "Alice"$/);
    expect(out[3]).toMatch(/^4\s+.*deleted\s+carol\s+gdpr/);
  });

  test('--json: one object per line, exact integers; --newest-first --limit', async () => {
    const file = appDb();
    const r = await runCli(['history', file, 'users', '1', '--json', '--newest-first', '--limit', '2']);
    expect(r.code).toBe(0);
    const events = jsonLines(r);
    expect(events.map((e) => [e.id, e.op])).toEqual([
      [4, 'deleted'],
      [2, 'updated'],
    ]);
    expect(r.stdout).toContain('"big":9007199254740993');
    expect(events[1]).toMatchObject({ table: 'users', key: '1', timeIso: '2024-05-01T01:00:00Z', changes: [{ field: 'name', old: 'Al', new: 'Alice' }] });
    expect(events[1]?.context).toEqual({ actor: 'bob', reason: 'typo', impersonatedBy: 'root', requestId: null, extra: {} });
  });

  test('--fields: one row per changed field; --field narrows', async () => {
    const file = appDb();
    const r = await runCli(['history', file, 'users', '1', '--fields', '--field', 'name']);
    expect(r.code).toBe(0);
    const out = lines(r);
    expect(out[0]).toMatch(/^ID\s+TIME\s+TABLE\s+KEY\s+TYPE\s+FIELD\s+OLD\s+NEW\s+ACTOR\s+REASON/);
    expect(out.slice(1).map((l) => l.split(/\s{2,}/).slice(4, 8))).toEqual([
      ['created', 'name', 'null', '"Al"'],
      ['updated', 'name', '"Al"', '"Alice"'],
      ['deleted', 'name', '"Alice"', 'null'],
    ]);
    const json = jsonLines(await runCli(['history', file, 'users', '1', '--fields', '--type', 'updated', '--json']));
    expect(json).toEqual([
      expect.objectContaining({
        eventId: 2,
        op: 'updated',
        field: 'name',
        old: 'Al',
        new: 'Alice',
        actor: 'bob',
        reason: 'typo',
        impersonatedBy: 'root',
        requestId: null,
      }),
    ]);
  });

  test("an actor's changes over all tables, in a time range; --table narrows", async () => {
    const file = appDb();
    const all = await runCli(['history', file, '--actor', 'alice', '--since', '2024-05-01', '--until', '2024-05-02', '--json']);
    expect(all.code).toBe(0);
    expect(jsonLines(all).map((e) => [e.id, e.table])).toEqual([
      [1, 'users'],
      [3, 'orders'],
    ]);
    const some = await runCli(['history', file, '--actor', 'alice', '--table', 'orders', '--json']);
    expect(jsonLines(some).map((e) => e.id)).toEqual([3]);
    const none = await runCli(['history', file, '--actor', 'alice', '--since', '2024-05-01T02:00:01Z']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('no matching events\n');
  });

  test('without the history indexes: same answer, and a one-line hint on stderr', async () => {
    const file = appDb({ historyIndexes: false });
    const r = await runCli(['history', file, 'users', '1', '--json']);
    expect(r.code).toBe(0);
    expect(jsonLines(r)).toHaveLength(3);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`audite enable ${file} --history-indexes`);
  });
});

describe('audite show', () => {
  test('attributes, context and the diff of an update', async () => {
    const file = appDb();
    const r = await runCli(['show', file, '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^event\s+2$/m);
    expect(r.stdout).toMatch(/^type\s+users\.updated$/m);
    expect(r.stdout).toMatch(/^time\s+2024-05-01T01:00:00Z \(1714525200\)$/m);
    expect(r.stdout).toMatch(/^actor\s+bob$/m);
    expect(r.stdout).toMatch(/^impersonated_by\s+root$/m);
    expect(r.stdout).toMatch(/^\s+name\s+"Al"\s+"Alice"$/m);
    expect(r.stdout).not.toMatch(/^\s+email/m);
    const json = JSON.parse((await runCli(['show', file, '4', '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ id: 4, op: 'deleted', new: null, old: { id: 1, name: 'Alice' } });
  });
});

describe('audite restore', () => {
  test('--dry-run prints the SQL and writes nothing; then restore undeletes, recorded as a restore', async () => {
    const file = appDb();
    const before = snapshot(file);
    const dry = await runCli(['restore', file, 'users', '1', '--to', '2', '--dry-run', '--actor', 'ops']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('BEGIN IMMEDIATE;');
    expect(dry.stdout).toContain(`INSERT INTO "users" ("id", "name", "email", "big") VALUES (1, 'Alice', 'al@x', 9007199254740993);`);
    expect(dry.stdout).toContain(`VALUES ('ops', 'restore', NULL, NULL, '{"restored_event_id":2}');`);
    expect(snapshot(file)).toBe(before);

    const applied = await runCli(['restore', file, 'users', '1', '--to', '2024-05-01T01:30Z', '--actor', 'ops']);
    expect(applied.code).toBe(0);
    expect(applied.stdout).toBe('restored users "1" to the version of event 2 (inserted); recorded as event 5\n');
    const shown = await runCli(['show', file, '5', '--json']);
    const show = JSON.parse(shown.stdout) as { context: unknown; new: Record<string, unknown> };
    expect(show.context).toEqual({ actor: 'ops', reason: 'restore', impersonatedBy: null, requestId: null, extra: { restored_event_id: 2 } });
    expect(show.new).toMatchObject({ id: 1, name: 'Alice', email: 'al@x' });
    expect(shown.stdout).toContain('"big":9007199254740993');
    expect(withDb(file, (db) => db.prepare('SELECT CAST(big AS TEXT) AS big FROM users').get())).toEqual({ big: '9007199254740993' });

    const again = await runCli(['restore', file, 'users', '1', '--to', '2']);
    expect(again.stdout).toContain('already holds the version of event 2; nothing to do');
  });
});

describe('bad input: one line on stderr, a non-zero exit, nothing written', () => {
  const cases: [string, (file: string) => string[], RegExp][] = [
    ['history: unknown table', (f) => ['history', f, 'nope'], /no table named "nope"/],
    ['history: a key that never existed', (f) => ['history', f, 'users', '999'], /users "999" has no history/],
    ['history: malformed --since', (f) => ['history', f, 'users', '--since', 'yesterday'], /--since "yesterday" is not a time/],
    ['history: malformed --until', (f) => ['history', f, '--until', '2024-02-30'], /--until "2024-02-30" is not a time/],
    ['history: unknown --type', (f) => ['history', f, '--type', 'inserted'], /--type must be created, updated or deleted/],
    ['show: event id out of range', (f) => ['show', f, '99'], /event id 99 is out of range: the feed's events are 1\.\.4/],
    ['show: not an event id', (f) => ['show', f, 'abc'], /event id must be a positive integer/],
    ['restore: unknown table', (f) => ['restore', f, 'nope', '1', '--to', '1'], /no table named "nope"/],
    ['restore: a key that never existed', (f) => ['restore', f, 'users', '999', '--to', '1'], /users "999" has no history/],
    ['restore: malformed --to time', (f) => ['restore', f, 'users', '1', '--to', 'last week'], /--to "last week" is neither an event id nor a time/],
    ['restore: event id out of range', (f) => ['restore', f, 'users', '1', '--to', '99'], /event id 99 is out of range/],
    ['restore: a table that is not tracked', (f) => ['restore', f, 'plain', '1', '--to', '1'], /table "plain" is not tracked/],
    ['restore: to a point where the row was deleted', (f) => ['restore', f, 'users', '1', '--to', '4'], /did not exist as of event 4 .*--to 2/],
  ];

  test.each(cases)('%s', async (_name, args, message) => {
    const file = appDb();
    const before = snapshot(file);
    const r = await runCli(args(file));
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    const stderr = r.stderr.trimEnd().split('\n');
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^audite: /);
    expect(stderr[0]).toMatch(message);
    expect(snapshot(file)).toBe(before);
  });
});
