// What the PostgreSQL triggers record: every value exactly, keys, exclusions, changed-only, no-op skipping, TRUNCATE, order.
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { enablePostgres, type PgEnableOptions } from '../../src/capture/postgres/pg-enable.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';

interface Event {
  source: string;
  subject: string;
  type: string;
  /** jsonb as PostgreSQL prints it: checked as text where numbers must keep every digit. */
  raw: string | null;
  data: { new?: Record<string, unknown>; old?: Record<string, unknown> } | null;
}

async function captured(ddl: string, options: PgEnableOptions = {}): Promise<pg.Client> {
  const { url } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(ddl);
  const client = await connectPostgres(url);
  try {
    await enablePostgres(client, options);
  } finally {
    await client.end();
  }
  return app;
}

async function feed(app: pg.Client): Promise<Event[]> {
  const { rows } = await app.query<{ source: string; subject: string; type: string; data: string | null }>(
    'SELECT source, subject, type, data::text AS data FROM audite.changefeed ORDER BY id',
  );
  return rows.map((r) => ({ source: r.source, subject: r.subject, type: r.type, raw: r.data, data: r.data === null ? null : JSON.parse(r.data) }));
}

const brief = async (app: pg.Client): Promise<string[]> => (await feed(app)).map((e) => `${e.type} ${e.subject}`);

describe('values', () => {
  test('bigint beyond 2^53, numeric, bytea, unicode, json and jsonb, NULLs, arrays, generated columns, time', async () => {
    const app = await captured(`CREATE TABLE v (
      id bigint PRIMARY KEY, n numeric, f float8, b bytea, t text, j json, jb jsonb, arr int[], tags text[], ok boolean,
      u uuid, at timestamptz, nothing text, g bigint GENERATED ALWAYS AS (id * 2) STORED)`);
    await app.query(`SET TimeZone = 'UTC'`);
    await app.query(`INSERT INTO v (id, n, f, b, t, j, jb, arr, tags, ok, u, at) VALUES (
      9007199254740993, 12345678901234567890.123456789000, 0.1, '\\x00ff10', 'Zoë 日本 🎉 "quoted" \\ back',
      '{"big": 9007199254740993, "keep":  "spacing"}', '{"big": 123456789012345678901234567890}', '{1,NULL,3}', '{"a,b","c"}', true,
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2024-02-29 12:34:56.789+00')`);
    await app.query(`UPDATE v SET t = NULL, n = -0.000000000000000000001`);
    const [created, updated] = await feed(app);
    expect(created?.subject).toBe('9007199254740993');
    expect(created?.raw).toContain('"id": 9007199254740993');
    expect(created?.raw).toContain('"g": 18014398509481986');
    expect(created?.raw).toContain('"n": 12345678901234567890.123456789000');
    expect(created?.raw).toContain('"big": 123456789012345678901234567890');
    // A json column is stored as jsonb inside the image: its numbers stay exact too.
    expect(created?.raw).toContain('"j": {"big": 9007199254740993, "keep": "spacing"}');
    expect(created?.data?.new).toMatchObject({
      f: 0.1,
      b: '\\x00ff10',
      t: 'Zoë 日本 🎉 "quoted" \\ back',
      arr: [1, null, 3],
      tags: ['a,b', 'c'],
      ok: true,
      u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      at: '2024-02-29T12:34:56.789+00:00',
      nothing: null,
    });
    expect(updated?.raw).toContain('"n": -0.000000000000000000001');
    expect(updated?.data?.new?.t).toBeNull();
    expect(updated?.data?.old?.t).toBe('Zoë 日本 🎉 "quoted" \\ back');
  });

  test('composite keys in key order; replica identity keys; tables in other schemas', async () => {
    const app = await captured(
      `
      CREATE TABLE pair (a text, b int, v text, PRIMARY KEY (b, a));
      CREATE TABLE ri (code text NOT NULL, v text); CREATE UNIQUE INDEX ri_code ON ri (code); ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_code;
      CREATE SCHEMA sales; CREATE TABLE sales."order" (id int PRIMARY KEY);`,
      { tables: ['pair', 'ri', 'sales.order'] },
    );
    await app.query(`INSERT INTO pair VALUES ('x', 1, 'v'); INSERT INTO ri VALUES ('c-1', 'v'); INSERT INTO sales."order" VALUES (5)`);
    expect((await feed(app)).map((e) => [e.source, e.type, e.subject])).toEqual([
      ['pair', 'pair.created', '1:x'],
      ['ri', 'ri.created', 'c-1'],
      ['sales.order', 'sales.order.created', '5'],
    ]);
  });
});

describe('options', () => {
  test('excluded columns never reach the feed, in created, updated and deleted images', async () => {
    const app = await captured('CREATE TABLE u (id int PRIMARY KEY, name text, password text, "Token" text)', { excludeColumns: { u: ['password', 'Token'] } });
    await app.query(`INSERT INTO u VALUES (1, 'a', 'hunter2', 'tok'); UPDATE u SET name = 'b', password = 'x'; DELETE FROM u`);
    const events = await feed(app);
    expect(events.map((e) => e.data)).toEqual([
      { new: { id: 1, name: 'a' } },
      { new: { id: 1, name: 'b' }, old: { id: 1, name: 'a' } },
      { old: { id: 1, name: 'b' } },
    ]);
  });

  test('changedOnly: new holds only the changed columns, old the whole row; a key change still records whole rows', async () => {
    const ddl = `CREATE TABLE c (id int PRIMARY KEY, a text, b int, big bigint);
                 CREATE TABLE pc (id int, r int, a text, PRIMARY KEY (id, r)) PARTITION BY LIST (r);
                 CREATE TABLE pc1 PARTITION OF pc FOR VALUES IN (1);`;
    const app = await captured(ddl, { changedOnly: true });
    await app.query(`INSERT INTO c VALUES (1, 'x', 1, 9007199254740993); UPDATE c SET b = 2, big = 9007199254740995; UPDATE c SET a = a`);
    await app.query(`INSERT INTO pc VALUES (1, 1, 'x'); UPDATE pc SET a = 'y'`);
    await app.query(`UPDATE c SET id = 2`);
    const events = await feed(app);
    expect(events.map((e) => e.type)).toEqual(['c.created', 'c.updated', 'c.updated', 'pc.created', 'pc.updated', 'c.deleted', 'c.created']);
    expect(events[1]?.raw).toBe('{"new": {"b": 2, "big": 9007199254740995}, "old": {"a": "x", "b": 1, "id": 1, "big": 9007199254740993}}');
    expect(events[2]?.raw).toBe('{"new": {}, "old": {"a": "x", "b": 2, "id": 1, "big": 9007199254740995}}');
    expect(events[4]?.data).toEqual({ new: { a: 'y' }, old: { id: 1, r: 1, a: 'x' } });
    expect(events[6]?.data?.new).toMatchObject({ id: 2, a: 'x', b: 2 });
  });

  test('skipNoopUpdates: an UPDATE that changes no captured column records nothing', async () => {
    const ddl = `CREATE TABLE s (id int PRIMARY KEY, a text, secret text, j json);
                 CREATE TABLE ps (id int, r int, a text, PRIMARY KEY (id, r)) PARTITION BY LIST (r);
                 CREATE TABLE ps1 PARTITION OF ps FOR VALUES IN (1);`;
    const app = await captured(ddl, { skipNoopUpdates: true, excludeColumns: { s: ['secret'] } });
    await app.query(`INSERT INTO s VALUES (1, 'a', 'x', '{"k": 1}'), (2, 'b', 'x', null); INSERT INTO ps VALUES (1, 1, 'a')`);
    // json compares by value: '{"k":1}' is the '{"k": 1}' stored before.
    await app.query(`UPDATE s SET a = a, j = '{"k":1}' WHERE id = 1; UPDATE s SET a = a WHERE id = 2; UPDATE s SET secret = 'y'; UPDATE ps SET a = a`);
    expect(await brief(app)).toEqual(['s.created 1', 's.created 2', 'ps.created 1:1']);
    await app.query(`UPDATE s SET a = 'c'; UPDATE ps SET a = 'b'`);
    expect(await brief(app)).toEqual(['s.created 1', 's.created 2', 'ps.created 1:1', 's.updated 1', 's.updated 2', 'ps.updated 1:1']);
  });

  test('without skipNoopUpdates (the default) every UPDATE is recorded', async () => {
    const app = await captured('CREATE TABLE s (id int PRIMARY KEY, a text)');
    await app.query(`INSERT INTO s VALUES (1, 'a'); UPDATE s SET a = a`);
    expect(await brief(app)).toEqual(['s.created 1', 's.updated 1']);
  });
});

describe('statements', () => {
  test('TRUNCATE is one event with an empty subject and no data', async () => {
    const app = await captured('CREATE TABLE t (id int PRIMARY KEY); CREATE TABLE u (id int PRIMARY KEY)');
    await app.query('INSERT INTO t SELECT generate_series(1, 3); TRUNCATE t, u');
    const events = await feed(app);
    expect(
      events
        .slice(3)
        .map((e) => [e.type, e.subject, e.data])
        .sort(),
    ).toEqual([
      ['t.truncated', '', null],
      ['u.truncated', '', null],
    ]);
  });

  test('a transaction of many statements keeps statement order in ids; rows of one statement keep their order', async () => {
    const app = await captured('CREATE TABLE o (id int PRIMARY KEY, v int)');
    await app.query('BEGIN');
    await app.query('INSERT INTO o VALUES (3, 0), (1, 0), (2, 0)');
    await app.query('UPDATE o SET v = 1 WHERE id = 1');
    await app.query('DELETE FROM o WHERE id = 3');
    await app.query('INSERT INTO o SELECT g, 0 FROM generate_series(10, 14) g');
    await app.query('UPDATE o SET v = v + 1 WHERE id IN (1, 2)');
    await app.query('COMMIT');
    const events = await brief(app);
    expect(events.slice(0, 5)).toEqual(['o.created 3', 'o.created 1', 'o.created 2', 'o.updated 1', 'o.deleted 3']);
    expect(events.slice(5, 10)).toEqual(['o.created 10', 'o.created 11', 'o.created 12', 'o.created 13', 'o.created 14']);
    expect(events.slice(10).sort()).toEqual(['o.updated 1', 'o.updated 2']);
    const { rows } = await app.query<{ n: string }>('SELECT count(DISTINCT txid)::text AS n FROM audite.changefeed');
    expect(rows[0]?.n).toBe('1');
  });

  test('a key change is the old subject deleted, then the new one created; upserts record what happened', async () => {
    const app = await captured(`CREATE TABLE k (id int PRIMARY KEY, v text);
      CREATE TABLE d (id int, v text, CONSTRAINT d_pkey PRIMARY KEY (id) DEFERRABLE INITIALLY DEFERRED)`);
    await app.query(`INSERT INTO k VALUES (1, 'a'), (2, 'b'); UPDATE k SET id = 10 WHERE id = 1`);
    await app.query(`INSERT INTO k VALUES (2, 'B'), (3, 'c') ON CONFLICT (id) DO UPDATE SET v = excluded.v`);
    const events = await feed(app);
    expect(events.map((e) => `${e.type} ${e.subject}`)).toEqual(['k.created 1', 'k.created 2', 'k.deleted 1', 'k.created 10', 'k.updated 2', 'k.created 3']);
    expect(events[2]?.data).toEqual({ old: { id: 1, v: 'a' } });
    expect(events[3]?.data).toEqual({ new: { id: 10, v: 'a' } });
    expect(events[4]?.data).toEqual({ new: { id: 2, v: 'B' }, old: { id: 2, v: 'b' } });

    // Shifting keys in one statement: every subject's last event holds its final row.
    await app.query('TRUNCATE audite.changefeed');
    // The scan meets 21 first (inserted first), so the immediate unique check never sees two rows with one key.
    await app.query(`INSERT INTO k VALUES (21, 'y'), (20, 'x'); UPDATE k SET id = id + 1 WHERE v IN ('x', 'y')`);
    const shifted = (await feed(app)).slice(2);
    expect(lastBySubject(shifted)).toEqual({ '20': 'k.deleted', '21': 'k.updated:x', '22': 'k.created:y' });
    // A deferrable key may hold duplicates mid-transaction: row-level triggers, one rekey per row.
    await app.query('TRUNCATE audite.changefeed');
    await app.query(`INSERT INTO d VALUES (1, 'a'), (2, 'b')`);
    await app.query(`BEGIN; UPDATE d SET id = 2 WHERE v = 'a'; UPDATE d SET id = 1 WHERE v = 'b'; COMMIT`);
    expect(await brief(app)).toEqual(['d.created 1', 'd.created 2', 'd.deleted 1', 'd.created 2', 'd.deleted 2', 'd.created 1']);
  });

  test('partitioned tables: writes through the parent and to a partition directly, rows moving between partitions', async () => {
    const app = await captured(`CREATE TABLE m (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
      CREATE TABLE m_eu PARTITION OF m FOR VALUES IN ('eu'); CREATE TABLE m_us PARTITION OF m FOR VALUES IN ('us')`);
    await app.query(`INSERT INTO m VALUES (1, 'eu', 0), (2, 'us', 0); INSERT INTO m_eu VALUES (3, 'eu', 0)`);
    await app.query(`UPDATE m SET v = 1 WHERE id = 1; UPDATE m SET region = 'us' WHERE id = 3; DELETE FROM m_us WHERE id = 2`);
    await app.query('TRUNCATE m');
    // A partition added later is captured through the parent's triggers.
    await app.query(`CREATE TABLE m_ap PARTITION OF m FOR VALUES IN ('ap'); INSERT INTO m VALUES (4, 'ap', 0)`);
    const events = await feed(app);
    expect(events.map((e) => `${e.source} ${e.type} ${e.subject}`)).toEqual([
      'm m.created 1:eu',
      'm m.created 2:us',
      'm m.created 3:eu',
      'm m.updated 1:eu',
      'm m.deleted 3:eu',
      'm m.created 3:us',
      'm m.deleted 2:us',
      'm m.truncated ',
      'm m.created 4:ap',
    ]);
  });
});

function lastBySubject(events: Event[]): Record<string, string> {
  const last: Record<string, string> = {};
  for (const e of events) last[e.subject] = e.type === 'k.deleted' ? e.type : `${e.type}:${String(e.data?.new?.v)}`;
  return last;
}
