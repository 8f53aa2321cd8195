// A database enabled by Python audite: its DDL and triggers, written here by hand as audite writes them.
import { describe, expect, test } from 'vitest';
import { createDb, enableFile, feed, python, sqliteShell, types, withDb } from './support.ts';

const AUDITE_DDL = `
CREATE TABLE IF NOT EXISTS "audite_changefeed" (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    subject TEXT NOT NULL,
    type TEXT NOT NULL,
    time INTEGER NOT NULL DEFAULT (strftime('%s')),
    specversion TEXT NOT NULL,
    data JSON
);
CREATE VIEW IF NOT EXISTS "audite_cloudevent" AS
SELECT *, json_object(
    'id', CAST(id AS TEXT),
    'sequence', printf('%020d', id),
    'source', source,
    'subject', subject,
    'type', type,
    'time', strftime('%Y-%m-%dT%H:%M:%S+00:00', datetime(time, 'unixepoch')),
    'specversion', specversion,
    'datacontenttype', 'application/json',
    'data', json(data)
) cloudevent
FROM "audite_changefeed";
CREATE INDEX IF NOT EXISTS "audite_changefeed_source_subject_id_idx" ON "audite_changefeed" (source, subject, id);
CREATE INDEX IF NOT EXISTS "audite_changefeed_time_id_idx" ON "audite_changefeed" (time, id);`;

/** audite's _track_table(): columns ordered by pk, CASE typeof blob → hex, raw key concatenation. */
function auditeTriggers(table: string, columns: string[], key: string[]): string {
  const obj = (ref: string): string =>
    `json_object(${columns.map((c) => `'${c}', CASE WHEN typeof(${ref}."${c}") = 'blob' THEN hex(${ref}."${c}") ELSE ${ref}."${c}" END`).join(', ')})`;
  const data = {
    INSERT: `json_object('new', ${obj('NEW')})`,
    UPDATE: `json_object('new', ${obj('NEW')}, 'old', ${obj('OLD')})`,
    DELETE: `json_object('old', ${obj('OLD')})`,
  };
  return (['INSERT', 'UPDATE', 'DELETE'] as const)
    .map((event) => {
      const ref = event === 'DELETE' ? 'OLD' : 'NEW';
      const subject = key.map((k) => `${ref}.${k}`).join(" || ':' || ");
      const type = { INSERT: 'created', UPDATE: 'updated', DELETE: 'deleted' }[event];
      return `
    CREATE TRIGGER "audite_audit_${table}_${event.toLowerCase()}_trigger" AFTER ${event} ON "${table}"
    BEGIN
        INSERT INTO "audite_changefeed"
        ("source", "subject", "type", "specversion", "data")
        VALUES (
        '${table}', ${subject}, '${table}.${type}', '1.0', ${data[event]}
        );
    END;`;
    })
    .join('\n');
}

function pythonAuditeDb(): string {
  return createDb(`
    CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT, body TEXT);
    CREATE TABLE tag (name TEXT PRIMARY KEY, color TEXT);
    ${AUDITE_DDL}
    ${auditeTriggers('post', ['title', 'body', 'id'], ['id'])}
    ${auditeTriggers('tag', ['color', 'name'], ['name'])}
    INSERT INTO post VALUES (1, 'hello', 'first');
    INSERT INTO tag VALUES ('red', '#f00');
    DELETE FROM post WHERE id = 1;`);
}

describe('database enabled by Python audite', () => {
  test('the hand-written audite triggers behave as audite documents', () => {
    const file = pythonAuditeDb();
    expect(types(file)).toEqual(['post.created 1', 'tag.created red', 'post.deleted 1']);
  });

  test('enable replaces its triggers: every change recorded exactly once, context added, AUTOINCREMENT kept', () => {
    const file = pythonAuditeDb();
    const before = feed(file);
    const result = enableFile(file);
    expect(result.tables.sort()).toEqual(['post', 'tag']);

    const schema = withDb(
      file,
      (db) =>
        db.prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'post' ORDER BY name").all() as { name: string; sql: string }[],
    );
    expect(schema.map((t) => t.name)).toContain('audite_audit_post_insert_trigger');
    // Ours, not audite's: ours record the who/why context.
    for (const t of schema.filter((r) => /_(insert|update|delete)_trigger$/.test(r.name))) expect(t.sql).toContain('audite_context');

    const feedSql = withDb(file, (db) => (db.prepare("SELECT sql FROM sqlite_schema WHERE name = 'audite_changefeed'").get() as { sql: string }).sql);
    expect(feedSql).toMatch(/AUTOINCREMENT/);
    const columns = withDb(file, (db) =>
      (db.prepare("SELECT name FROM pragma_table_info('audite_changefeed')").all() as { name: string }[]).map((c) => c.name),
    );
    expect(columns).toEqual(['id', 'source', 'subject', 'type', 'time', 'specversion', 'data', 'context']);

    // Writes from three clients: each change once.
    withDb(file, (db) => db.exec("INSERT INTO post VALUES (2, 'two', 'b'); UPDATE tag SET color = '#e00' WHERE name = 'red';"));
    sqliteShell(file, "INSERT INTO tag VALUES ('blue', '#00f'); DELETE FROM post WHERE id = 2;");
    python(
      file,
      'import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\ndb.execute("UPDATE post SET title = \'x\' WHERE id = 99")\ndb.execute("INSERT INTO post VALUES (3, \'py\', NULL)")\ndb.commit()',
    );

    const after = feed(file);
    expect(after.slice(0, before.length)).toEqual(before.map((r) => ({ ...r, context: null })));
    expect(after.slice(before.length).map((r) => `${r.type} ${r.subject}`)).toEqual([
      'post.created 2',
      'tag.updated red',
      'tag.created blue',
      'post.deleted 2',
      'post.created 3',
    ]);
    // AUTOINCREMENT: ids keep counting past the old ones, even past a deleted head.
    expect(after.map((r) => r.id)).toEqual(after.map((_, i) => i + 1));
    withDb(file, (db) => db.exec(`DELETE FROM audite_changefeed WHERE id = ${after.length}`));
    withDb(file, (db) => db.exec("INSERT INTO tag VALUES ('green', '#0f0')"));
    expect(feed(file).at(-1)?.id).toBe(after.length + 1);

    expect(enableFile(file).upToDate).toBe(true);
  });
});
