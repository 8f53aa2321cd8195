// Idempotence, schema changes, a concurrent writer during a rebuild, dry runs and WAL.
import { statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { enable } from '../../src/capture/enable.ts';
import { isAuditeError } from '../../src/errors.ts';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import { runCli } from '../support/cli.ts';
import { createDb, enableFile, exited, feed, openDb, schemaSnapshot, sha256, spawnPython, sqliteShell, types, waitForLine, withDb } from './support.ts';

const SCHEMA = 'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT);';

async function staleTables(file: string): Promise<string[]> {
  const result = await runCli(['status', file, '--json']);
  expect(result.code).toBe(0);
  return (JSON.parse(result.stdout) as { stale: string[] }).stale;
}

describe('idempotence', () => {
  test('a second enable prints "up to date" and writes nothing at all', async () => {
    const file = createDb(SCHEMA);
    expect((await runCli(['enable', file])).code).toBe(0);
    const watcher = openDb(file);
    try {
      const version = watcher.pragma('data_version', { simple: true });
      const schema = schemaSnapshot(file);
      const bytes = sha256(file);
      const mtime = statSync(file).mtimeMs;
      const again = await runCli(['enable', file]);
      expect(again).toEqual({ code: 0, stdout: 'up to date: capturing 1 table(s), nothing to change\n', stderr: '' });
      expect(watcher.pragma('data_version', { simple: true })).toBe(version);
      expect(schemaSnapshot(file)).toBe(schema);
      expect(sha256(file)).toBe(bytes);
      expect(statSync(file).mtimeMs).toBe(mtime);
    } finally {
      watcher.close();
    }
  });

  test('enable refuses to run inside an open transaction (library API)', () => {
    const file = createDb(SCHEMA);
    const db = openDatabase(file);
    try {
      db.exec('BEGIN');
      let caught: unknown;
      try {
        enable(db);
      } catch (error) {
        caught = error;
      }
      expect(isAuditeError(caught, 'DB_IN_TRANSACTION')).toBe(true);
      db.exec('ROLLBACK');
    } finally {
      db.close();
    }
    expect(withDb(file, (db) => db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name LIKE 'audite%'").get())).toEqual({ n: 0 });
  });
});

describe('schema changes', () => {
  test('ADD COLUMN: status shows the table stale, enable rebuilds, the new column is captured', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    sqliteShell(file, 'ALTER TABLE t ADD COLUMN c INT DEFAULT 7;');
    expect(await staleTables(file)).toEqual(['t']);
    const result = await runCli(['enable', file]);
    expect(result.stdout).toMatch(/^enabled: capturing 1 table/);
    expect(await staleTables(file)).toEqual([]);
    sqliteShell(file, "INSERT INTO t (id, a) VALUES (1, 'x');");
    expect(JSON.parse(feed(file)[0]!.data)).toEqual({ new: { id: 1, a: 'x', b: null, c: 7 } });
  });

  test('RENAME COLUMN: SQLite rewrites our triggers but not the JSON keys; status says stale, enable fixes it', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    sqliteShell(file, 'ALTER TABLE t RENAME COLUMN b TO bee;');
    expect(await staleTables(file)).toEqual(['t']);
    expect((await runCli(['enable', file])).code).toBe(0);
    sqliteShell(file, "INSERT INTO t VALUES (1, 'x', 'y');");
    expect(JSON.parse(feed(file)[0]!.data)).toEqual({ new: { id: 1, a: 'x', bee: 'y' } });
  });

  test('DROP COLUMN is blocked by the triggers that read it; disable → drop → enable works around it', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    expect(() => sqliteShell(file, 'ALTER TABLE t DROP COLUMN b;')).toThrow(/no such column/);
    expect((await runCli(['disable', file])).code).toBe(0);
    sqliteShell(file, 'ALTER TABLE t DROP COLUMN b;');
    expect((await runCli(['enable', file])).code).toBe(0);
    sqliteShell(file, "INSERT INTO t VALUES (1, 'x');");
    expect(JSON.parse(feed(file)[0]!.data)).toEqual({ new: { id: 1, a: 'x' } });
  });

  test('a new table, a renamed table and a dropped table', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    sqliteShell(file, 'CREATE TABLE fresh (id INTEGER PRIMARY KEY); ALTER TABLE t RENAME TO t2;');
    expect((await staleTables(file)).sort()).toEqual(['fresh', 't2']);
    expect((await runCli(['enable', file])).stdout).toMatch(/capturing 2 table\(s\): fresh, t2/);
    sqliteShell(file, "INSERT INTO fresh VALUES (1); INSERT INTO t2 (a) VALUES ('renamed'); DROP TABLE fresh;");
    expect(types(file)).toEqual(['fresh.created 1', 't2.created 1']);
    expect((await runCli(['enable', file])).stdout).toMatch(/up to date: capturing 1 table/);
    const triggers = withDb(
      file,
      (db) => db.prepare("SELECT name FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'audite_audit_%' ORDER BY name").all() as { name: string }[],
    );
    expect(triggers.every((t) => t.name.startsWith('audite_audit_t2_'))).toBe(true);
  });
});

// Inserts one row per transaction until the stop file appears. The short pause stands for the
// app's own work: without it, SQLite's sleeping busy handler may never see the lock free.
const PY_WRITER = `
import os, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
stop = sys.argv[2]
i = 0
while not os.path.exists(stop):
    db.execute("INSERT INTO t (a) VALUES (?)", (f"row {i}",))
    i += 1
    time.sleep(0.0005)
    if i == 50:
        print("started", flush=True)
print(f"finished {i}", flush=True)
`;

function count(file: string, sql: string): number {
  return (withDb(file, (db) => db.prepare(sql).get()) as { n: number }).n;
}

describe('a writer in another process during a rebuild', () => {
  test('every inserted row has exactly one created event, none lost or doubled', async () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    const stop = join(dirname(file), 'stop');
    const writer = spawnPython(file, PY_WRITER, stop);
    const finished = waitForLine(writer, (l) => l.startsWith('finished'), 60_000);
    await waitForLine(writer, (l) => l === 'started');
    const alter = openDb(file);
    try {
      alter.exec('ALTER TABLE t ADD COLUMN c TEXT');
    } finally {
      alter.close();
    }
    const result = await runCli(['enable', file, '--busy-timeout', '20000']);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^enabled/);
    // Let the writer go on under the new triggers for a while, then stop it.
    const atRebuild = count(file, 'SELECT count(*) AS n FROM t');
    while (count(file, 'SELECT count(*) AS n FROM t') < atRebuild + 200) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(stop, '');
    const written = Number((await finished).split(' ')[1]);
    expect(await exited(writer)).toBe(0);

    expect(count(file, 'SELECT count(*) AS n FROM t')).toBe(written);
    expect(count(file, "SELECT count(*) AS n FROM audite_changefeed WHERE type = 't.created'")).toBe(written);
    expect(count(file, "SELECT count(DISTINCT subject) AS n FROM audite_changefeed WHERE type = 't.created'")).toBe(written);
    expect(count(file, 'SELECT count(*) AS n FROM t WHERE NOT EXISTS (SELECT 1 FROM audite_changefeed f WHERE f.subject = t.id)')).toBe(0);
    // Rows before the rebuild were recorded by the old triggers, later ones carry the new column.
    const withC = count(file, "SELECT count(*) AS n FROM audite_changefeed WHERE json_type(data, '$.new.c') IS NOT NULL");
    expect(withC).toBeGreaterThanOrEqual(200);
    expect(withC).toBeLessThan(written);
  });
});

describe('dry run and journal mode', () => {
  test('--dry-run prints SQL and changes nothing', async () => {
    const file = createDb(SCHEMA);
    const bytes = sha256(file);
    const result = await runCli(['enable', file, '--dry-run']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/CREATE TRIGGER "audite_audit_t_insert_trigger"/);
    expect(result.stdout).toMatch(/PRAGMA journal_mode = WAL;/);
    expect(sha256(file)).toBe(bytes);
    expect(withDb(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('delete');
  });

  test('WAL is switched on by default with a message; --no-wal leaves the journal mode alone', async () => {
    const file = createDb(SCHEMA);
    const result = await runCli(['enable', file]);
    expect(result.stdout).toMatch(/journal mode set to WAL/);
    expect(withDb(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');

    const other = createDb(SCHEMA);
    const noWal = await runCli(['enable', other, '--no-wal']);
    expect(noWal.code).toBe(0);
    expect(noWal.stdout).not.toMatch(/WAL/);
    expect(withDb(other, (db) => db.pragma('journal_mode', { simple: true }))).toBe('delete');
    expect((await runCli(['enable', other, '--no-wal'])).stdout).toMatch(/up to date/);
    // A later plain enable still switches to WAL, even though the triggers are up to date.
    const later = await runCli(['enable', other]);
    expect(later.stdout).toMatch(/journal mode set to WAL/);
    expect(withDb(other, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
  });
});
