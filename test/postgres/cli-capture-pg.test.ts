// `audite enable|disable|status postgres://…` as an operator runs them, and every way the input can be bad.
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { runCli, type CliResult } from '../support/cli.ts';
import { freshPgDatabase, pgApp, pgUrl, PG_ADMIN_URL, unprivilegedRole } from '../support/postgres.ts';
import { createDb } from '../capture/support.ts';

const DDL = `CREATE TABLE item (id bigint PRIMARY KEY, name text, secret text); CREATE TABLE note (k text PRIMARY KEY, body text);`;

function expectOneLineError(result: CliResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^audite: /);
  expect(lines[0]).toMatch(pattern);
}

async function database(ddl = DDL): Promise<{ url: string; name: string; app: pg.Client }> {
  const { url, name } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(ddl);
  return { url, name, app };
}

/** audite's footprint: its schemas, and any trigger or function outside the system schemas. */
async function footprint(app: pg.Client): Promise<string[]> {
  const { rows } = await app.query<{ what: string }>(
    `SELECT 'schema ' || nspname AS what FROM pg_namespace WHERE nspname LIKE 'audit%'
     UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
     UNION ALL SELECT 'function ' || proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
     ORDER BY 1`,
  );
  return rows.map((r) => r.what);
}

describe('audite enable / status / disable on PostgreSQL', () => {
  test('enable, re-run, dry run, status (text and --json), disable, disable --drop-tables', async () => {
    const { url, app } = await database();
    const dry = await runCli(['enable', url, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^CREATE SCHEMA IF NOT EXISTS "audite";$/m);
    expect(dry.stdout).toMatch(/^CREATE TRIGGER "!audite_capture_insert" AFTER INSERT ON "public"."item" /m);
    expect(await footprint(app)).toEqual([]);

    const enabled = await runCli(['enable', url, '--exclude-column', 'item.secret', '--changed-only']);
    expect(enabled).toMatchObject({ code: 0, stderr: '', stdout: 'enabled: capturing 2 table(s) into schema audite: item, note\n' });
    expect((await runCli(['enable', url])).stdout).toBe('up to date: capturing 2 table(s), nothing to change\n');
    expect((await runCli(['enable', url, '--dry-run'])).stdout).toBe('-- up to date: nothing to do\n');

    await app.query(`INSERT INTO item VALUES (1, 'a', 's'); UPDATE item SET name = 'b'; INSERT INTO note VALUES ('n', 'x')`);
    const { rows } = await app.query<{ data: string }>(`SELECT data::text FROM audite.changefeed WHERE type = 'item.updated'`);
    expect(JSON.parse(rows[0]!.data)).toEqual({ new: { name: 'b' }, old: { id: 1, name: 'a' } });
    await app.query(`INSERT INTO audite.cursor (consumer, position) VALUES ('kafka', 1); ALTER TABLE item RENAME COLUMN id TO item_id`);

    const status = await runCli(['status', url]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^schema: +audite$/m);
    expect(status.stdout).toMatch(/^tables: +item, note$/m);
    expect(status.stdout).toMatch(/^stale: +item +→ run `audite enable postgres:\/\//m);
    expect(status.stdout).toMatch(/^feed: +3 event\(s\), head id 3,/m);
    // Cluster-wide: another test's open transaction may show here.
    expect(status.stdout).toMatch(/^holding: +(\(none\)|pid \d+ .*open \d+ s)/m);
    expect(status.stdout).toMatch(/^consumer: +kafka +position 1 +lag 2 /m);
    const json = JSON.parse((await runCli(['status', url, '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({ schema: 'audite', tables: ['item', 'note'], stale: ['item'], feed: { events: 3, headId: 3 } });
    expect(json.consumers).toMatchObject([{ consumer: 'kafka', position: 1, lag: 2 }]);

    const disabled = await runCli(['disable', url]);
    expect(disabled.code).toBe(0);
    expect(disabled.stdout).toMatch(/^disabled: removed \d+ object\(s\)\n$/);
    expect((await runCli(['disable', url])).stdout).toBe('nothing to remove\n');
    expect((await runCli(['status', url])).stdout).toMatch(/^problem: +capture is disabled/m);
    const dropDry = await runCli(['disable', url, '--drop-tables', '--dry-run']);
    expect(dropDry.stdout).toMatch(/^DROP TABLE IF EXISTS "audite"."changefeed";$/m);
    expect(await footprint(app)).toEqual(['schema audite']);
    expect((await runCli(['disable', url, '--drop-tables'])).code).toBe(0);
    expect(await footprint(app)).toEqual([]);
    expectOneLineError(await runCli(['status', url]), 69, /no change feed in schema "audite"; run `audite enable` first/);
  });

  test('--table, --exclude-table, --skip-noop-updates, --history-indexes and --schema', async () => {
    const { url, app } = await database(`${DDL} CREATE SCHEMA sales; CREATE TABLE sales.lines (o int, l int, PRIMARY KEY (o, l));`);
    const result = await runCli(['enable', url, '--schema', 'feed', '--table', 'item', '--table', 'sales.lines', '--skip-noop-updates', '--history-indexes']);
    expect(result.stdout).toBe('enabled: capturing 2 table(s) into schema feed: item, sales.lines\n');
    await app.query(`INSERT INTO item VALUES (1, 'a', 's'); UPDATE item SET name = name; INSERT INTO sales.lines VALUES (1, 2); INSERT INTO note VALUES ('n')`);
    const { rows } = await app.query('SELECT type, subject FROM feed.changefeed ORDER BY id');
    expect(rows).toEqual([
      { type: 'item.created', subject: '1' },
      { type: 'sales.lines.created', subject: '1:2' },
    ]);
    const { rows: indexes } = await app.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'feed' AND indexname LIKE 'changefeed\\_%\\_idx'`);
    expect(indexes).toEqual([{ n: 3 }]);
    expect((await runCli(['status', url, '--schema', 'feed'])).stdout).toMatch(/^tables: +item, sales\.lines$/m);
    expect((await runCli(['enable', url, '--schema', 'feed', '--exclude-table', 'item', '--table', 'item'])).stdout).toMatch(/capturing 0 table/);
    expect((await runCli(['disable', url, '--schema', 'feed', '--drop-tables'])).code).toBe(0);
    expect(await footprint(app)).toEqual([]);
  });
});

describe('bad input: one line on stderr, exit ≠ 0, nothing half-installed', () => {
  test('a connection string that does not connect (and never shows the password)', async () => {
    for (const command of ['enable', 'status', 'disable']) {
      const result = await runCli([command, 'postgres://postgres:hunter2@127.0.0.1:1/app']);
      expectOneLineError(result, 69, /cannot connect to postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/app: the server is unreachable/);
      expect(result.stderr).not.toContain('hunter2');
    }
    expectOneLineError(await runCli(['enable', pgUrl('audite_no_such_database')]), 66, /database does not exist/);
  });

  test('a role that may not create the schema, or may not put triggers on the tables', async () => {
    const { name, app } = await database();
    const role = await unprivilegedRole(name);
    expectOneLineError(
      await runCli(['enable', pgUrl(name, role)]),
      77,
      /cannot enable capture in schema "audite": permission denied (for database|to create role|to use role)/,
    );
    expect(await footprint(app)).toEqual([]);

    // Allowed to create schemas, but not the owner of the tables: CREATE TRIGGER is refused, and the schema goes too.
    await app.query(`GRANT CREATE ON DATABASE "${name}" TO "${role}"`);
    expectOneLineError(await runCli(['enable', pgUrl(name, role)]), 77, /permission denied|must be owner/);
    expect(await footprint(app)).toEqual([]);
    // Once the owner enabled capture, the role may neither disable it nor read the feed.
    expect((await runCli(['enable', pgUrl(name)])).code).toBe(0);
    expectOneLineError(await runCli(['status', pgUrl(name, role)]), 77, /cannot read the status of schema "audite": permission denied/);
    expectOneLineError(await runCli(['disable', pgUrl(name, role)]), 77, /cannot disable capture/);
    await app.query(`REVOKE CREATE ON DATABASE "${name}" FROM "${role}"; DROP SCHEMA audite CASCADE`);
  });

  test('an unknown table, a table without a key, a bad --exclude-column', async () => {
    const { url, app } = await database(`${DDL} CREATE TABLE loose (a int, b text);`);
    expectOneLineError(await runCli(['enable', url, '--table', 'nope']), 64, /no table named "nope" in this database/);
    expectOneLineError(await runCli(['enable', url, '--exclude-table', 'nope', '--exclude-table', 'loose']), 64, /no table named "nope"/);
    expectOneLineError(
      await runCli(['enable', url]),
      64,
      /table "loose" has no primary key or replica identity index.*add a primary key, or run ALTER TABLE "public"."loose" REPLICA IDENTITY USING INDEX/,
    );
    expectOneLineError(await runCli(['enable', url, '--table', 'loose']), 64, /"loose" has no primary key/);
    expectOneLineError(await runCli(['enable', url, '--exclude-table', 'loose', '--exclude-column', 'item.nope']), 64, /names no column/);
    expectOneLineError(await runCli(['enable', url, '--exclude-table', 'loose', '--exclude-column', 'item.id']), 64, /part of the key/);
    expectOneLineError(await runCli(['enable', url, '--include-column', 'item.secret']), 64, /is not an excluded column/);
    expect(await footprint(app)).toEqual([]);
    expect((await runCli(['enable', url, '--exclude-table', 'loose'])).code).toBe(0);
  });

  test('a table locked by an open transaction beyond --busy-timeout: exit 75, nothing installed, writers not stalled for long', async () => {
    const { url, app } = await database();
    const holder = await pgApp(url);
    await holder.query(`BEGIN; INSERT INTO note VALUES ('held', 'x')`);
    const started = Date.now();
    expectOneLineError(await runCli(['enable', url, '--busy-timeout', '300']), 75, /holds a lock on a table beyond the lock timeout; nothing was changed/);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await footprint(app)).toEqual([]);
    await holder.query('COMMIT');
    expect((await runCli(['enable', url, '--busy-timeout', '300'])).code).toBe(0);
    await holder.query(`BEGIN; INSERT INTO note VALUES ('held2', 'x')`);
    expectOneLineError(await runCli(['disable', url, '--busy-timeout', '300']), 75, /cannot disable capture/);
    await holder.query('ROLLBACK');
    expect(await footprint(app)).toContain('trigger !audite_capture_insert');
  });

  test('flags of the other database kind are usage errors', async () => {
    const { url, app } = await database();
    expectOneLineError(await runCli(['enable', url, '--autoincrement']), 64, /--autoincrement applies to SQLite databases only/);
    expectOneLineError(await runCli(['enable', url, '--no-wal']), 64, /--no-wal applies to SQLite/);
    expectOneLineError(await runCli(['enable', url, '--snapshot']), 64, /--snapshot applies to SQLite/);
    expectOneLineError(await runCli(['enable', url, '--busy-timeout', 'soon']), 64, /--busy-timeout must be a whole number/);
    expectOneLineError(await runCli(['enable', url, '--schema', 'public']), 64, /cannot hold audite's feed/);
    expect(await footprint(app)).toEqual([]);
    const file = createDb('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    expectOneLineError(await runCli(['enable', file, '--schema', 'x']), 64, /--schema applies to PostgreSQL URLs only/);
    expectOneLineError(await runCli(['enable', file, '--changed-only']), 64, /--changed-only applies to PostgreSQL/);
    expectOneLineError(await runCli(['status', file, '--schema', 'x']), 64, /--schema applies to PostgreSQL/);
    expect(PG_ADMIN_URL).toMatch(/^postgres/);
  });
});
