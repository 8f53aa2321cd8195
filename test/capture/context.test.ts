// Who and why: the context travels with every event of its transaction, and never leaks.
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { withContext } from '../../src/capture/context.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { createDb, enableFile, exited, feed, python, spawnPython, sqliteShell, waitForLine, withDb } from './support.ts';

const SCHEMA = 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE TABLE u (k TEXT PRIMARY KEY);';
const WRITER = join(REPO_ROOT, 'test', 'capture', 'fixtures', 'context-writer.ts');

function setup(): string {
  const file = createDb(SCHEMA);
  enableFile(file);
  return file;
}

function contexts(file: string): unknown[] {
  return feed(file).map((r) => (r.context === null ? null : (JSON.parse(r.context) as unknown)));
}

const asDb = (db: unknown): SqliteDatabase => db as SqliteDatabase;

describe('withContext', () => {
  test('every event of the transaction carries the context; writes after it carry none', () => {
    const file = setup();
    withDb(file, (db) => {
      withContext(
        asDb(db),
        { actor: 'alice', reason: 'fix typo', impersonatedBy: 'support-bob', requestId: 'req-1', extra: { ticket: 42, tags: ['a'] } },
        () => {
          db.exec("INSERT INTO t VALUES (1, 'a'); UPDATE t SET v = 'b'; INSERT INTO u VALUES ('k'); DELETE FROM u; INSERT OR REPLACE INTO t VALUES (1, 'c');");
        },
      );
      db.exec("INSERT INTO t VALUES (2, 'plain')");
    });
    const expected = { actor: 'alice', reason: 'fix typo', impersonated_by: 'support-bob', request_id: 'req-1', ticket: 42, tags: ['a'] };
    expect(contexts(file)).toEqual([expected, expected, expected, expected, expected, expected, null]);
    expect(withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM audite_context').get())).toEqual({ n: 0 });
  });

  test('absent fields are left out of the context', () => {
    const file = setup();
    withDb(file, (db) => withContext(asDb(db), { actor: 'cron' }, () => db.exec("INSERT INTO t VALUES (1, 'a')")));
    expect(contexts(file)).toEqual([{ actor: 'cron' }]);
  });

  test('nested contexts: the innermost wins while it lasts', () => {
    const file = setup();
    withDb(file, (db) => {
      withContext(asDb(db), { actor: 'outer' }, () => {
        db.exec("INSERT INTO t VALUES (1, 'a')");
        withContext(asDb(db), { actor: 'inner', reason: 'nested' }, () => db.exec("INSERT INTO t VALUES (2, 'b')"));
        db.exec("INSERT INTO t VALUES (3, 'c')");
        expect(() =>
          withContext(asDb(db), { actor: 'failing' }, () => {
            db.exec("INSERT INTO t VALUES (4, 'rolled back')");
            throw new Error('boom');
          }),
        ).toThrow('boom');
        db.exec("INSERT INTO t VALUES (5, 'e')");
      });
    });
    expect(feed(file).map((r) => r.subject)).toEqual(['1', '2', '3', '5']);
    expect(contexts(file)).toEqual([{ actor: 'outer' }, { actor: 'inner', reason: 'nested' }, { actor: 'outer' }, { actor: 'outer' }]);
  });

  test('a failing function rolls back its writes and its context', () => {
    const file = setup();
    withDb(file, (db) => {
      expect(() =>
        withContext(asDb(db), { actor: 'x' }, () => {
          db.exec("INSERT INTO t VALUES (1, 'a')");
          throw new Error('nope');
        }),
      ).toThrow('nope');
      expect(db.inTransaction).toBe(false);
      db.exec("INSERT INTO t VALUES (2, 'b')");
    });
    expect(feed(file).map((r) => [r.subject, r.context])).toEqual([['2', null]]);
  });

  test('plain SQL from the sqlite3 shell sets the context for its transaction only', () => {
    const file = setup();
    sqliteShell(
      file,
      "BEGIN; INSERT INTO audite_context (actor, reason) VALUES ('dba', 'hotfix'); INSERT INTO t VALUES (1, 'a'); UPDATE t SET v = 'b'; DELETE FROM audite_context; COMMIT; INSERT INTO t VALUES (2, 'later');",
    );
    sqliteShell(file, "INSERT INTO u VALUES ('other process');");
    expect(contexts(file)).toEqual([{ actor: 'dba', reason: 'hotfix' }, { actor: 'dba', reason: 'hotfix' }, null, null]);
  });
});

describe('no leak between processes', () => {
  test('a node writer killed -9 inside withContext: its writes and context vanish; the next writer has no context', async () => {
    const file = setup();
    const child = spawn(process.execPath, [WRITER, file, 'hang'], { stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForLine(child, (l) => l === 'ready');
    child.kill('SIGKILL');
    await exited(child);
    sqliteShell(file, "INSERT INTO t (v) VALUES ('after kill');");
    python(file, 'import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.execute("INSERT INTO u VALUES (\'py\')")\ndb.commit()');
    expect(feed(file).map((r) => [r.type, r.context])).toEqual([
      ['t.created', null],
      ['u.created', null],
    ]);
    expect(withDb(file, (db) => db.prepare("SELECT count(*) AS n FROM t WHERE v = 'from hang'").get())).toEqual({ n: 0 });
  });

  test('a Python writer killed -9 before COMMIT after setting context by SQL', async () => {
    const file = setup();
    const child = spawnPython(
      file,
      "import sqlite3, sys, time\ndb = sqlite3.connect(sys.argv[1], isolation_level=None)\ndb.execute('BEGIN IMMEDIATE')\ndb.execute(\"INSERT INTO audite_context (actor) VALUES ('py-killed')\")\ndb.execute(\"INSERT INTO t (v) VALUES ('doomed')\")\nprint('ready', flush=True)\ntime.sleep(60)",
    );
    await waitForLine(child, (l) => l === 'ready');
    child.kill('SIGKILL');
    await exited(child);
    withDb(file, (db) => db.exec("INSERT INTO t (v) VALUES ('next')"));
    expect(feed(file).map((r) => [r.subject, JSON.parse(r.data), r.context])).toEqual([['1', { new: { id: 1, v: 'next' } }, null]]);
  });

  test('a writer that rolls back, and one that commits properly: neither leaks into another process', async () => {
    const file = setup();
    const rolledBack = spawn(process.execPath, [WRITER, file, 'throw'], { stdio: ['ignore', 'pipe', 'pipe'] });
    expect(await exited(rolledBack)).toBe(0);
    sqliteShell(file, "INSERT INTO u VALUES ('after rollback');");
    const committed = spawn(process.execPath, [WRITER, file, 'commit'], { stdio: ['ignore', 'pipe', 'pipe'] });
    expect(await exited(committed)).toBe(0);
    sqliteShell(file, "INSERT INTO u VALUES ('after commit');");
    expect(feed(file).map((r) => [r.type, r.context === null ? null : JSON.parse(r.context)])).toEqual([
      ['u.created', null],
      ['t.created', { actor: 'mallory', reason: 'commit' }],
      ['u.created', null],
    ]);
    expect(withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM audite_context').get())).toEqual({ n: 0 });
  });
});
