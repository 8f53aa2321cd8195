// Names that need quoting, including ones written to break out of naive SQL.
import { describe, expect, test } from 'vitest';
import Database from 'better-sqlite3';
import { quoteIdent, quoteString } from '../../src/sqlite/quote.ts';
import { runCli } from '../support/cli.ts';
import { createDb, enableFile, feed, sqliteShell, withDb } from './support.ts';

const NASTY_TABLES = [
  "it's",
  '"',
  'with space',
  'dot.ted',
  'ünïcødé 表',
  'select',
  'order',
  'x"; DROP TABLE victim; --',
  "x'); DROP TABLE victim; --",
  'audit_%_like',
  'a]b[c`d',
];
const NASTY_COLUMNS = ["it's", '"', 'with space', 'dot.ted', 'ünï 表', 'order', 'x"); DROP TABLE victim; --', "x'); DROP TABLE victim; --"];

function nastyDb(): string {
  const q = quoteIdent;
  const ddl = NASTY_TABLES.map((t) => `CREATE TABLE ${q(t)} (${q('key ' + t)} TEXT PRIMARY KEY, ${NASTY_COLUMNS.map(q).join(', ')});`).join('\n');
  return createDb(`CREATE TABLE victim (id INTEGER PRIMARY KEY); INSERT INTO victim VALUES (1);\n${ddl}`);
}

function writeAll(file: string): void {
  withDb(file, (db) => {
    for (const t of NASTY_TABLES) {
      const cols = [`key ${t}`, ...NASTY_COLUMNS].map(quoteIdent).join(', ');
      db.prepare(`INSERT INTO ${quoteIdent(t)} (${cols}) VALUES (${['?', ...NASTY_COLUMNS.map(() => '?')].join(', ')})`).run(
        `k'"${t}`,
        ...NASTY_COLUMNS.map((c) => `v ${c}`),
      );
      db.prepare(`UPDATE ${quoteIdent(t)} SET ${quoteIdent("it's")} = 'changed'`).run();
      db.prepare(`DELETE FROM ${quoteIdent(t)}`).run();
    }
  });
}

function checkFeed(file: string): void {
  const rows = feed(file);
  expect(rows).toHaveLength(NASTY_TABLES.length * 3);
  NASTY_TABLES.forEach((t, i) => {
    const [created, updated, deleted] = rows.slice(i * 3, i * 3 + 3);
    expect([created?.type, updated?.type, deleted?.type]).toEqual([`${t}.created`, `${t}.updated`, `${t}.deleted`]);
    for (const row of [created, updated, deleted]) {
      expect(row?.source).toBe(t);
      expect(row?.subject).toBe(`k'"${t}`);
    }
    const data = JSON.parse(created!.data) as { new: Record<string, unknown> };
    expect(Object.keys(data.new)).toEqual([`key ${t}`, ...NASTY_COLUMNS]);
    expect(data.new["it's"]).toBe("v it's");
    expect((JSON.parse(updated!.data) as { new: Record<string, unknown> }).new["it's"]).toBe('changed');
  });
  expect(withDb(file, (db) => db.prepare('SELECT count(*) AS n FROM victim').get())).toEqual({ n: 1 });
}

describe('odd identifiers', () => {
  test('quotes, spaces, dots, unicode, keywords and injection attempts: captured exactly, victim survives', () => {
    const file = nastyDb();
    const result = enableFile(file);
    expect(result.tables.sort()).toEqual([...NASTY_TABLES, 'victim'].sort());
    writeAll(file);
    checkFeed(file);
    expect(enableFile(file).upToDate).toBe(true);
  });

  test('the same names written from the sqlite3 shell', () => {
    const file = nastyDb();
    enableFile(file);
    const t = 'x"; DROP TABLE victim; --';
    sqliteShell(
      file,
      `INSERT INTO ${quoteIdent(t)} (${quoteIdent('key ' + t)}, ${quoteIdent("it's")}) VALUES (${quoteString("shell'key")}, 1); DELETE FROM ${quoteIdent(t)};`,
    );
    expect(feed(file).map((r) => [r.source, r.subject, r.type])).toEqual([
      [t, "shell'key", `${t}.created`],
      [t, "shell'key", `${t}.deleted`],
    ]);
  });

  test('--dry-run prints SQL that, executed by the sqlite3 shell, installs capture and harms nothing', async () => {
    const file = nastyDb();
    const dry = await runCli(['enable', file, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(withDb(file, (db) => db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name LIKE 'audite%'").get())).toEqual({ n: 0 });
    sqliteShell(file, dry.stdout);
    expect(withDb(file, (db) => db.pragma('journal_mode', { simple: true }))).toBe('wal');
    writeAll(file);
    checkFeed(file);
    const again = await runCli(['enable', file]);
    expect(again.stdout).toMatch(/up to date/);
  });
});

describe('quote.ts', () => {
  const db = new Database(':memory:');
  test('quoteIdent doubles double quotes and round-trips through SQLite', () => {
    expect(quoteIdent('plain')).toBe('"plain"');
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent('')).toBe('""');
    for (const name of [...NASTY_TABLES, '""', "'", '\n', 'tab\there']) {
      db.exec(`CREATE TABLE ${quoteIdent(name)} (${quoteIdent(name)})`);
      expect(db.prepare('SELECT name FROM pragma_table_info(?)').get(name)).toEqual({ name });
      db.exec(`DROP TABLE ${quoteIdent(name)}`);
    }
  });
  test('quoteString doubles single quotes and round-trips through SQLite', () => {
    expect(quoteString("it's")).toBe("'it''s'");
    for (const value of ["'", "''", '"', "x'); DROP TABLE victim; --", 'ünï 表', '\\', '\n']) {
      expect(db.prepare(`SELECT ${quoteString(value)} AS v`).get()).toEqual({ v: value });
    }
  });
  test('NUL characters are refused, not truncated', () => {
    expect(() => quoteIdent('a\0b')).toThrow(TypeError);
    expect(() => quoteString('a\0b')).toThrow(TypeError);
  });
});
