// audite's README quick start, written by better-sqlite3 and by the sqlite3 shell.
import { describe, expect, test } from 'vitest';
import { createDb, enableFile, events, feed, sqliteShell, withDb } from './support.ts';

const SCHEMA = `
CREATE TABLE project (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE task (
  name TEXT PRIMARY KEY,
  project_id INTEGER REFERENCES project (project_id),
  done BOOLEAN NOT NULL DEFAULT FALSE);`;

const WRITES = `
INSERT INTO project (id, name) VALUES (1, 'goals');
INSERT INTO task (project_id, name) VALUES (1, 'try audite'), (1, 'profit');
UPDATE task SET done = TRUE WHERE name = 'try audite';
DELETE FROM task WHERE name = 'profit';`;

const EXPECTED = [
  { type: 'project.created', subject: '1', data: { new: { id: 1, name: 'goals' } } },
  { type: 'task.created', subject: 'try audite', data: { new: { name: 'try audite', project_id: 1, done: 0 } } },
  { type: 'task.created', subject: 'profit', data: { new: { name: 'profit', project_id: 1, done: 0 } } },
  {
    type: 'task.updated',
    subject: 'try audite',
    data: { new: { name: 'try audite', project_id: 1, done: 1 }, old: { name: 'try audite', project_id: 1, done: 0 } },
  },
  { type: 'task.deleted', subject: 'profit', data: { old: { name: 'profit', project_id: 1, done: 0 } } },
];

function checkCloudEvents(file: string): void {
  const rows = feed(file);
  const views = withDb(file, (db) => db.prepare('SELECT id, cloudevent FROM audite_cloudevent ORDER BY id').all() as { id: number; cloudevent: string }[]);
  expect(views).toHaveLength(rows.length);
  views.forEach((view, i) => {
    const row = rows[i]!;
    const event = JSON.parse(view.cloudevent) as Record<string, unknown>;
    expect(Object.keys(event)).toEqual(['id', 'sequence', 'source', 'subject', 'type', 'time', 'specversion', 'datacontenttype', 'data']);
    expect(event.id).toBe(String(row.id));
    expect(event.sequence).toBe(String(row.id).padStart(20, '0'));
    expect(event.source).toBe(row.source);
    expect(event.subject).toBe(row.subject);
    expect(event.type).toBe(row.type);
    expect(event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    expect(Date.parse(String(event.time))).toBe(row.time * 1000);
    expect(Math.abs(row.time - Date.now() / 1000)).toBeLessThan(120);
    expect(event.specversion).toBe('1.0');
    expect(event.datacontenttype).toBe('application/json');
    expect(event.data).toEqual(JSON.parse(row.data));
  });
}

describe("audite's README quick start", () => {
  test('better-sqlite3 writer: exactly the five events, CloudEvents view field for field', () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    withDb(file, (db) => db.exec(WRITES));
    expect(events(file)).toEqual(EXPECTED);
    expect(feed(file).map((r) => r.source)).toEqual(['project', 'task', 'task', 'task', 'task']);
    checkCloudEvents(file);
  });

  test('sqlite3 shell (SQLite 3.40) writer, one process per statement as in the README', () => {
    const file = createDb(SCHEMA);
    enableFile(file);
    for (const statement of WRITES.split(';')
      .map((s) => s.trim())
      .filter(Boolean))
      sqliteShell(file, `${statement};`);
    expect(events(file)).toEqual(EXPECTED);
    checkCloudEvents(file);
    // The shell reads the view too, with its own SQLite.
    const fromShell = sqliteShell(file, 'SELECT cloudevent FROM audite_cloudevent ORDER BY id;').trim().split('\n');
    expect(fromShell.map((line) => (JSON.parse(line) as { type: string }).type)).toEqual(EXPECTED.map((e) => e.type));
  });

  test('compound key subject joins the key in key order with ":"; BLOBs are upper-case hex', () => {
    const file = createDb(`
      CREATE TABLE k (a TEXT, b TEXT, c INT, d REAL, v, PRIMARY KEY (a, b, c, d));
      CREATE TABLE b (id BLOB PRIMARY KEY, payload BLOB, n);`);
    enableFile(file);
    withDb(file, (db) => {
      db.prepare('INSERT INTO k VALUES (?, ?, ?, ?, ?)').run('hello', 'world', 1, 3.14159, 'x');
      db.prepare('INSERT INTO b VALUES (?, ?, ?)').run(Buffer.from([0xde, 0xad]), Buffer.from([0x00, 0xbe, 0xef]), 1);
    });
    sqliteShell(file, "INSERT INTO k VALUES ('hello', 'shell', 2, 2.5, 'y'); UPDATE b SET n = 2 WHERE id = x'DEAD';");
    expect(events(file)).toEqual([
      { type: 'k.created', subject: 'hello:world:1:3.14159', data: { new: { a: 'hello', b: 'world', c: 1, d: 3.14159, v: 'x' } } },
      { type: 'b.created', subject: 'DEAD', data: { new: { id: 'DEAD', payload: '00BEEF', n: 1 } } },
      { type: 'k.created', subject: 'hello:shell:2:2.5', data: { new: { a: 'hello', b: 'shell', c: 2, d: 2.5, v: 'y' } } },
      { type: 'b.updated', subject: 'DEAD', data: { new: { id: 'DEAD', payload: '00BEEF', n: 2 }, old: { id: 'DEAD', payload: '00BEEF', n: 1 } } },
    ]);
  });
});
