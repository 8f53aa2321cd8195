// `audite history`, `show` and `restore` on a postgres:// URL, as an operator runs them: real subprocesses, a real server.
import { describe, expect, test } from 'vitest';
import { runCli, type CliResult } from '../support/cli.ts';
import { pgUrl, unprivilegedRole } from '../support/postgres.ts';
import { as, auditPg, pgSnapshot, setTime, T0, type AuditPg } from './history-support.ts';

const DDL = `
  CREATE TABLE users (id bigint PRIMARY KEY, name text, email text, big bigint);
  CREATE TABLE orders (id int PRIMARY KEY, status text);
  CREATE TABLE plain (id int PRIMARY KEY, v text);`;

/**
 * 1 users 1 created (alice)   @ 2024-05-01T00:00Z
 * 2 users 1 renamed (bob)     @ 01:00
 * 3 orders 7 created (alice)  @ 02:00
 * 4 users 1 deleted (carol)   @ 2024-05-02T00:00Z
 */
async function appDb(options: { historyIndexes?: boolean } = {}): Promise<AuditPg> {
  const db = await auditPg(DDL, { capture: { users: {}, orders: {} }, historyIndexes: options.historyIndexes ?? true });
  const { app } = db;
  await as(app, { actor: 'alice', reason: 'signup', requestId: 'req-1' }, () => app.query(`INSERT INTO users VALUES (1, 'Al', 'al@x', 9007199254740993)`));
  await as(app, { actor: 'bob', reason: 'typo', impersonatedBy: 'root' }, () => app.query(`UPDATE users SET name = 'Alice' WHERE id = 1`));
  await as(app, { actor: 'alice' }, () => app.query(`INSERT INTO orders VALUES (7, 'new')`));
  await as(app, { actor: 'carol', reason: 'gdpr' }, () => app.query('DELETE FROM users WHERE id = 1'));
  await app.query(`INSERT INTO plain VALUES (1, 'untracked')`);
  for (const [i, time] of [T0, T0 + 3600, T0 + 7200, T0 + 86_400].entries()) await setTime(app, i + 1, time);
  return db;
}

const lines = (r: CliResult): string[] => r.stdout.trimEnd().split('\n');
const jsonLines = (r: CliResult): Record<string, unknown>[] => lines(r).map((l) => JSON.parse(l) as Record<string, unknown>);

describe('audite history postgres://…', () => {
  test('one record, as a readable table with who and why', async () => {
    const { url } = await appDb();
    const r = await runCli(['history', url, 'users', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r);
    expect(out[0]).toMatch(/^ID\s+TIME\s+TABLE\s+KEY\s+TYPE\s+ACTOR\s+REASON\s+IMPERSONATED_BY\s+REQUEST_ID\s+CHANGES$/);
    expect(out).toHaveLength(4);
    expect(out[1]).toMatch(/^1\s+2024-05-01T00:00:00Z\s+users\s+1\s+created\s+alice\s+signup\s+req-1\s+id=1, name="Al", email="al@x", big=9007199254740993$/);
    expect(out[2]).toMatch(/^2\s+2024-05-01T01:00:00Z\s+users\s+1\s+updated\s+bob\s+typo\s+root\s+name: "Al" → "Alice"$/);
    expect(out[3]).toMatch(/^4\s+.*deleted\s+carol\s+gdpr/);
  });

  test('--json with exact integers, --newest-first --limit, --fields --field, an actor over a time range', async () => {
    const { url } = await appDb();
    const r = await runCli(['history', url, 'users', '1', '--json', '--newest-first', '--limit', '2']);
    expect(r.code).toBe(0);
    const events = jsonLines(r);
    expect(events.map((e) => [e.id, e.op])).toEqual([
      [4, 'deleted'],
      [2, 'updated'],
    ]);
    expect(r.stdout).toContain('"big":9007199254740993');
    expect(events[1]).toMatchObject({
      table: 'users',
      key: '1',
      time: T0 + 3600,
      timeIso: '2024-05-01T01:00:00Z',
      changes: [{ field: 'name', old: 'Al', new: 'Alice' }],
    });
    expect(events[1]?.context).toEqual({ actor: 'bob', reason: 'typo', impersonatedBy: 'root', requestId: null, extra: {} });

    const fields = await runCli(['history', url, 'users', '1', '--fields', '--field', 'name']);
    expect(
      lines(fields)
        .slice(1)
        .map((l) => l.split(/\s{2,}/).slice(4, 8)),
    ).toEqual([
      ['created', 'name', 'null', '"Al"'],
      ['updated', 'name', '"Al"', '"Alice"'],
      ['deleted', 'name', '"Alice"', 'null'],
    ]);

    const actor = await runCli(['history', url, '--actor', 'alice', '--since', '2024-05-01T00:00:01Z', '--until', '2024-05-02', '--json']);
    expect(jsonLines(actor).map((e) => e.id)).toEqual([3]);
    const none = await runCli(['history', url, '--actor', 'nobody']);
    expect(none.stdout).toBe('no matching events\n');
  });

  test('without the history indexes: the same answer, and a one-line hint on stderr without the password', async () => {
    const { url } = await appDb({ historyIndexes: false });
    const withPassword = url.replace('postgres@', 'postgres:hunter2@');
    const r = await runCli(['history', withPassword, 'users', '1', '--json']);
    expect(r.code).toBe(0);
    expect(jsonLines(r)).toHaveLength(3);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no index changefeed_source_subject_id_idx.*`audite enable postgres:\/\/postgres:\*\*\*@.* --history-indexes`/);
    expect(r.stderr).not.toContain('hunter2');
  });
});

describe('audite show postgres://…', () => {
  test('attributes, context and the diff of an update', async () => {
    const { url } = await appDb();
    const r = await runCli(['show', url, '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^event\s+2$/m);
    expect(r.stdout).toMatch(/^type\s+users\.updated$/m);
    expect(r.stdout).toMatch(/^time\s+2024-05-01T01:00:00Z \(1714525200\)$/m);
    expect(r.stdout).toMatch(/^actor\s+bob$/m);
    expect(r.stdout).toMatch(/^impersonated_by\s+root$/m);
    expect(r.stdout).toMatch(/^\s+name\s+"Al"\s+"Alice"$/m);
    expect(r.stdout).not.toMatch(/^\s+email/m);
    const json = JSON.parse((await runCli(['show', url, '4', '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ id: 4, op: 'deleted', new: null, old: { id: 1, name: 'Alice' } });
  });
});

describe('audite restore postgres://…', () => {
  test('--dry-run prints SQL that runs as printed and writes nothing; then restore undeletes, recorded as a restore', async () => {
    const db = await appDb();
    const before = await pgSnapshot(db.app);
    const dry = await runCli(['restore', db.url, 'users', '1', '--to', '2', '--dry-run', '--actor', 'ops']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('-- restore users "1" to the version of event 2: INSERT (the row does not exist now)');
    expect(dry.stdout).toContain(`SELECT set_config('audite.reason', 'restore', true), set_config('audite.actor', 'ops', true);`);
    expect(dry.stdout).toContain(`'{"id": 1, "big": 9007199254740993, "name": "Alice", "email": "al@x"}'::jsonb`);
    expect(dry.stdout).toContain(`'{"restored_event_id":2}'::jsonb || coalesce(context, '{}'::jsonb) WHERE id > 4 AND txid = pg_current_xact_id();`);
    expect(await pgSnapshot(db.app)).toBe(before);

    const applied = await runCli(['restore', db.url, 'users', '1', '--to', '2024-05-01T01:30Z', '--actor', 'ops']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout).toBe('restored users "1" to the version of event 2 (inserted); recorded as event 5\n');
    const shown = await runCli(['show', db.url, '5', '--json']);
    const show = JSON.parse(shown.stdout) as { context: unknown; new: Record<string, unknown> };
    expect(show.context).toEqual({ actor: 'ops', reason: 'restore', impersonatedBy: null, requestId: null, extra: { restored_event_id: 2 } });
    expect(show.new).toMatchObject({ id: 1, name: 'Alice', email: 'al@x' });
    expect(shown.stdout).toContain('"big":9007199254740993');
    expect((await db.app.query('SELECT big::text FROM users')).rows).toEqual([{ big: '9007199254740993' }]);

    const again = await runCli(['restore', db.url, 'users', '1', '--to', '2']);
    expect(again.stdout).toContain('already holds the version of event 2; nothing to do');
  });

  test('the dry-run script, piped into a session, restores as restore would', async () => {
    const db = await appDb();
    const dry = await runCli(['restore', db.url, 'users', '1', '--to', '2', '--dry-run']);
    await db.app.query(dry.stdout);
    expect((await db.app.query('SELECT name, big::text FROM users')).rows).toEqual([{ name: 'Alice', big: '9007199254740993' }]);
    const { rows } = await db.app.query('SELECT context::text AS c FROM audite.changefeed WHERE id = 5');
    expect(rows).toEqual([{ c: '{"reason": "restore", "restored_event_id": 2}' }]);
  });
});

describe('bad input on PostgreSQL: one line on stderr, a non-zero exit, nothing written', () => {
  const cases: [string, (url: string) => string[], RegExp, number?][] = [
    ['history: unknown table', (u) => ['history', u, 'nope'], /no table named "nope" in postgres:\/\//],
    ['history: a key that never existed', (u) => ['history', u, 'users', '999'], /users "999" has no history/],
    ['history: malformed --since', (u) => ['history', u, 'users', '--since', 'yesterday'], /--since "yesterday" is not a time/, 64],
    ['history: malformed --until', (u) => ['history', u, '--until', '2024-02-30'], /--until "2024-02-30" is not a time/, 64],
    ['history: unknown --type', (u) => ['history', u, '--type', 'inserted'], /--type must be created, updated or deleted/, 64],
    ['history: a schema without a feed', (u) => ['history', u, '--schema', 'nowhere'], /no audite change feed in schema "nowhere"/, 69],
    ['show: event id out of range', (u) => ['show', u, '99'], /event id 99 is out of range: the feed's events are 1\.\.4/, 65],
    ['show: not an event id', (u) => ['show', u, 'abc'], /event id must be a positive integer/, 64],
    ['restore: unknown table', (u) => ['restore', u, 'nope', '1', '--to', '1'], /no table named "nope"/, 64],
    ['restore: a key that never existed', (u) => ['restore', u, 'users', '999', '--to', '1'], /users "999" has no history/, 65],
    ['restore: malformed --to time', (u) => ['restore', u, 'users', '1', '--to', 'last week'], /--to "last week" is neither an event id nor a time/, 64],
    ['restore: event id out of range', (u) => ['restore', u, 'users', '1', '--to', '99'], /event id 99 is out of range/, 65],
    ['restore: a table that is not tracked', (u) => ['restore', u, 'plain', '1', '--to', '1'], /table "plain" is not tracked/, 69],
    ['restore: to a point where the row was deleted', (u) => ['restore', u, 'users', '1', '--to', '4'], /did not exist as of event 4 .*--to 2/, 65],
  ];

  test.each(cases)('%s', async (_name, args, message, exit) => {
    const db = await appDb();
    const before = await pgSnapshot(db.app);
    const r = await runCli(args(db.url));
    expect(r.code).not.toBe(0);
    if (exit !== undefined) expect(r.code).toBe(exit);
    expect(r.stdout).toBe('');
    const stderr = r.stderr.trimEnd().split('\n');
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^audite: /);
    expect(stderr[0]).toMatch(message);
    expect(await pgSnapshot(db.app)).toBe(before);
  });

  test.each([
    ['history', ['users', '1']],
    ['show', ['1']],
    ['restore', ['users', '1', '--to', '1']],
  ])('%s: an unreachable server exits 69 with one line, without the password', async (command, rest) => {
    const r = await runCli([command, 'postgres://u:hunter2@127.0.0.1:1/app', ...rest]);
    expect(r.code).toBe(69);
    expect(r.stdout).toBe('');
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^audite: cannot connect to postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/app: the server is unreachable/),
    ]);
  });

  test('a role without access to the feed: exit 77 and one line naming the privilege; a restore it cannot record writes nothing', async () => {
    const db = await appDb();
    const role = await unprivilegedRole(db.name);
    const url = pgUrl(db.name, role);
    const history = await runCli(['history', url, 'users', '1']);
    expect(history.code).toBe(77);
    expect(history.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^audite: cannot read the audit history in .*: permission denied for schema audite; run it as a role/),
    ]);
    // It may read the feed and write the table, but not stamp the feed: the restore rolls back whole.
    await db.app.query(
      `GRANT USAGE ON SCHEMA audite TO "${role}"; GRANT SELECT ON audite.changefeed TO "${role}"; GRANT SELECT, INSERT, UPDATE ON users TO "${role}"`,
    );
    const before = await pgSnapshot(db.app);
    const restore = await runCli(['restore', url, 'users', '1', '--to', '2']);
    expect(restore.code).toBe(77);
    expect(restore.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^audite: cannot restore users "1": permission denied for table changefeed; run it as a role/),
    ]);
    expect(await pgSnapshot(db.app)).toBe(before);
  });

  test('--schema on a SQLite file is refused', async () => {
    const r = await runCli(['history', 'app.db', '--schema', 'x']);
    expect(r.code).toBe(64);
    expect(r.stderr).toBe('audite: --schema applies to PostgreSQL databases only (a postgres:// URL)\n');
  });
});
