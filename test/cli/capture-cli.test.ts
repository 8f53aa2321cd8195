// The capture commands as an operator runs them: disable, status, and every way input can be bad.
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { enableFile, createDb, exited, feed, sha256, spawnPython, sqliteShell, types, waitForLine, withDb } from '../capture/support.ts';
import { runCli, type CliResult } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

const SCHEMA = 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (k TEXT PRIMARY KEY);';

function expectOneLineError(result: CliResult, code: number, pattern: RegExp): void {
  expect(result.code).toBe(code);
  expect(result.stdout).toBe('');
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^audite: /);
  expect(lines[0]).toMatch(pattern);
}

describe('disable', () => {
  test('removes the triggers: capture stops, the feed stays', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    sqliteShell(file, "INSERT INTO t VALUES (1, 'a');");
    const result = await runCli(['disable', file]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^disabled: removed \d+ object/);
    sqliteShell(file, "INSERT INTO t VALUES (2, 'b'); DELETE FROM t;");
    expect(types(file)).toEqual(['t.created 1']);
    // Only the feed's id guards stay: pruning by hand while capture is off must still keep the head.
    const left = withDb(file, (db) => db.prepare("SELECT name FROM sqlite_schema WHERE name LIKE 'audite%' AND type = 'trigger' ORDER BY name").all());
    expect(left).toEqual([{ name: 'audite_changefeed_fixed_id_trigger' }, { name: 'audite_changefeed_keep_head_trigger' }]);
    expect(() => sqliteShell(file, 'DELETE FROM audite_changefeed;')).toThrow(/newest change-feed event is kept/);
    expect((await runCli(['disable', file])).stdout).toBe('nothing to remove\n');
  });

  test('--drop-tables removes every audite_ object; --dry-run only prints', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    const bytes = sha256(file);
    const dry = await runCli(['disable', file, '--drop-tables', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/DROP TABLE IF EXISTS "audite_changefeed";/);
    expect(sha256(file)).toBe(bytes);
    expect((await runCli(['disable', file, '--drop-tables'])).code).toBe(0);
    const left = withDb(file, (db) => db.prepare("SELECT type, name FROM sqlite_schema WHERE name LIKE 'audite%' OR name = 'sqlite_sequence'").all());
    expect(left).toEqual([]);
    sqliteShell(file, "INSERT INTO t VALUES (1, 'a');");
    expect((await runCli(['enable', file])).code).toBe(0);
    sqliteShell(file, "INSERT INTO t VALUES (2, 'b');");
    expect(types(file)).toEqual(['t.created 2']);
  });
});

describe('status', () => {
  test('tables, stale triggers, feed size, head id and consumers', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    sqliteShell(file, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c'); INSERT INTO u VALUES ('k');");
    sqliteShell(file, "INSERT INTO audite_cursor (consumer, position) VALUES ('kafka', 2); ALTER TABLE u ADD COLUMN extra;");
    const text = await runCli(['status', file]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^tables: +t, u$/m);
    expect(text.stdout).toMatch(/^stale: +u +→ run `audite enable /m);
    expect(text.stdout).toMatch(/^feed: +4 event\(s\), head id 4,/m);
    expect(text.stdout).toMatch(/^consumer: +kafka +position 2 +lag 2 /m);

    const json = await runCli(['status', file, '--json']);
    const status = JSON.parse(json.stdout) as {
      tables: string[];
      stale: string[];
      feed: { events: number; headId: number };
      consumers: { consumer: string; lag: number }[];
    };
    expect(status.tables).toEqual(['t', 'u']);
    expect(status.stale).toEqual(['u']);
    expect(status.feed).toMatchObject({ events: 4, headId: 4 });
    expect(status.consumers).toMatchObject([{ consumer: 'kafka', position: 2, lag: 2 }]);
  });

  test('works on a read-only file and changes nothing; a database without a feed is reported', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    const bytes = sha256(file);
    chmodSync(file, 0o444);
    expect((await runCli(['status', file])).code).toBe(0);
    expect(sha256(file)).toBe(bytes);
    const plain = createDb(SCHEMA);
    expectOneLineError(await runCli(['status', plain]), 69, /no change feed/);
  });
});

describe('bad input: one line on stderr, non-zero exit, file untouched', () => {
  test('a missing file is reported and not created', async () => {
    const dir = tempDir();
    const file = join(dir, 'missing.db');
    expectOneLineError(await runCli(['enable', file]), 66, /does not exist/);
    expectOneLineError(await runCli(['status', file]), 66, /does not exist/);
    expectOneLineError(await runCli(['disable', file]), 66, /does not exist/);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('a file that is not a SQLite database', async () => {
    const file = join(tempDir(), 'notes.db');
    writeFileSync(file, 'These are my notes, not a database.\n'.repeat(200));
    const bytes = sha256(file);
    expectOneLineError(await runCli(['enable', file]), 65, /not a SQLite database/);
    expectOneLineError(await runCli(['status', file]), 65, /not a SQLite database/);
    expect(sha256(file)).toBe(bytes);
    expect(readdirSync(dirname(file))).toEqual(['notes.db']);
  });

  test('a read-only file (mode 444, even for root)', async () => {
    const file = createDb(SCHEMA);
    chmodSync(file, 0o444);
    const bytes = sha256(file);
    expectOneLineError(await runCli(['enable', file]), 77, /read-only/);
    expectOneLineError(await runCli(['disable', file]), 77, /read-only/);
    expect(sha256(file)).toBe(bytes);
  });

  for (const lock of ['BEGIN IMMEDIATE', 'BEGIN EXCLUSIVE'] as const) {
    test(`a database locked by another process (${lock}) beyond --busy-timeout`, async () => {
      const file = createDb(SCHEMA);
      const holder = spawnPython(
        file,
        `import sqlite3, sys, time\ndb = sqlite3.connect(sys.argv[1], isolation_level=None)\ndb.execute('${lock}')\nprint('locked', flush=True)\ntime.sleep(30)`,
      );
      try {
        await waitForLine(holder, (l) => l === 'locked');
        const bytes = sha256(file);
        const started = Date.now();
        expectOneLineError(await runCli(['enable', file, '--busy-timeout', '200']), 75, /locked/);
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(sha256(file)).toBe(bytes);
      } finally {
        holder.kill('SIGKILL');
        await exited(holder);
      }
      // Once the lock is gone, the same command succeeds.
      expect((await runCli(['enable', file, '--busy-timeout', '200'])).code).toBe(0);
    });
  }

  test('a lock held while an enabled database needs a rebuild', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    sqliteShell(file, 'ALTER TABLE t ADD COLUMN w;');
    const holder = spawnPython(
      file,
      "import sqlite3, sys, time\ndb = sqlite3.connect(sys.argv[1], isolation_level=None)\ndb.execute('BEGIN IMMEDIATE')\nprint('locked', flush=True)\ntime.sleep(30)",
    );
    try {
      await waitForLine(holder, (l) => l === 'locked');
      const before = withDb(file, (db) => JSON.stringify(db.prepare('SELECT sql FROM sqlite_schema ORDER BY name').all()));
      expectOneLineError(await runCli(['enable', file, '--busy-timeout', '200']), 75, /locked/);
      expect(withDb(file, (db) => JSON.stringify(db.prepare('SELECT sql FROM sqlite_schema ORDER BY name').all()))).toBe(before);
      expectOneLineError(await runCli(['disable', file, '--busy-timeout', '200']), 75, /locked/);
    } finally {
      holder.kill('SIGKILL');
      await exited(holder);
    }
  });

  test('an unknown table in --table / --exclude-table', async () => {
    const file = createDb(SCHEMA);
    const bytes = sha256(file);
    expectOneLineError(await runCli(['enable', file, '--table', 'nope']), 64, /no table named "nope"/);
    expectOneLineError(await runCli(['enable', file, '--exclude-table', 'nope']), 64, /no table named "nope"/);
    expect(sha256(file)).toBe(bytes);
    expect(feed.length).toBe(1);
  });

  test('an --exclude-column that names no column', async () => {
    const file = createDb(SCHEMA);
    const bytes = sha256(file);
    expectOneLineError(await runCli(['enable', file, '--exclude-column', 't.nope']), 64, /names no column/);
    expectOneLineError(await runCli(['enable', file, '--exclude-column', 'nodot']), 64, /names no column/);
    expect(sha256(file)).toBe(bytes);
  });

  test('a bad --busy-timeout and an unknown option are usage errors', async () => {
    const file = createDb(SCHEMA);
    const bytes = sha256(file);
    expectOneLineError(await runCli(['enable', file, '--busy-timeout', 'soon']), 64, /busy-timeout/);
    const unknown = await runCli(['enable', file, '--frobnicate']);
    expect(unknown.code).toBe(64);
    expect(sha256(file)).toBe(bytes);
  });
});

describe('enable --snapshot', () => {
  test('captures, then emits the rows that already exist as snapshot events', async () => {
    const file = createDb("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO item (name) VALUES ('a'), ('b'), ('c');");
    const result = await runCli(['enable', file, '--snapshot']);
    expect(result.code).toBe(0);
    const events = withDb(file, (db) => db.prepare('SELECT type, subject FROM audite_changefeed ORDER BY id').all());
    expect(events).toEqual([
      { type: 'item.snapshot', subject: '1' },
      { type: 'item.snapshot', subject: '2' },
      { type: 'item.snapshot', subject: '3' },
    ]);
  });
});
