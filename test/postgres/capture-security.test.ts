// Capture functions run as a low-privilege role, fire before the app's own triggers, and record subjects independent of session settings.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { disablePostgres } from '../../src/capture/postgres/pg-disable.ts';
import { enablePostgres } from '../../src/capture/postgres/pg-enable.ts';
import { readPgStatus } from '../../src/capture/postgres/pg-status.ts';
import { isAuditeError } from '../../src/errors.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import type { PgClient } from '../../src/postgres/pg-client.ts';
import { freshPgDatabase, pgApp, pgUrl, unprivilegedRole } from '../support/postgres.ts';

async function setup(ddl: string): Promise<{ url: string; name: string; app: pg.Client; audite: PgClient }> {
  const { url, name } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(ddl);
  return { url, name, app, audite: await connectPostgres(url) };
}

async function feed(app: pg.Client, schema = 'audite'): Promise<{ type: string; subject: string; data: { new?: Record<string, unknown> } }[]> {
  const { rows } = await app.query(`SELECT type, subject, data FROM "${schema}".changefeed ORDER BY id`);
  return rows as { type: string; subject: string; data: { new?: Record<string, unknown> } }[];
}

describe('capture security', () => {
  test("an app's cast to json runs as the capture role, not as the role that enabled capture", async () => {
    const { name, app, audite } = await setup(`
      CREATE TYPE mood2 AS ENUM ('a');
      CREATE FUNCTION mood2_json(mood2) RETURNS json LANGUAGE plpgsql AS $$BEGIN RAISE NOTICE 'cast ran as %', current_user; RETURN to_json($1::text); END$$;
      CREATE CAST (mood2 AS json) WITH FUNCTION mood2_json(mood2);
      CREATE TABLE appt (id int PRIMARY KEY, m mood2);`);
    try {
      await enablePostgres(audite);
      const role = await unprivilegedRole(name);
      await app.query(`GRANT USAGE ON SCHEMA public TO "${role}"; GRANT INSERT, SELECT ON appt TO "${role}"`);
      const writer = await pgApp(pgUrl(name, role));
      const notices: string[] = [];
      writer.on('notice', (n) => notices.push(n.message ?? ''));
      await writer.query(`INSERT INTO appt VALUES (1, 'a')`);
      expect(notices).toEqual(['cast ran as audite_capture']);
      expect((await feed(app)).map((e) => `${e.type} ${e.subject}`)).toEqual(['appt.created 1']);
      const { rows } = await app.query<{ owner: string; acl: string | null }>(
        `SELECT pg_get_userbyid(proowner) AS owner, proacl::text AS acl FROM pg_proc WHERE proname LIKE 'capture\\_appt\\_%'`,
      );
      expect(rows).toEqual([{ owner: 'audite_capture', acl: '{audite_capture=X/audite_capture}' }]);
      const { rows: role_ } = await app.query(`SELECT rolsuper, rolcanlogin FROM pg_roles WHERE rolname = 'audite_capture'`);
      expect(role_).toEqual([{ rolsuper: false, rolcanlogin: false }]);
      // The capture role may not touch the feed's other tables.
      await app.query('SET ROLE audite_capture');
      await expect(app.query('SELECT * FROM audite.changefeed')).rejects.toThrow(/permission denied/);
      await app.query('RESET ROLE');
      expect((await enablePostgres(audite)).upToDate).toBe(true);
    } finally {
      await audite.end();
    }
  });

  test('a role that cannot create the capture role is refused before anything changes', async () => {
    const { name, app, audite } = await setup('CREATE TABLE item (id int PRIMARY KEY)');
    const schema = `sec_${randomBytes(4).toString('hex')}`;
    try {
      const role = await unprivilegedRole(name);
      await app.query(`GRANT CREATE ON DATABASE "${name}" TO "${role}"; ALTER TABLE item OWNER TO "${role}"`);
      const weak = await connectPostgres(pgUrl(name, role));
      try {
        const error = await enablePostgres(weak, { schema }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isAuditeError(error, 'DB_PERMISSION')).toBe(true);
        expect((error as Error).message).toMatch(/permission denied to create role "sec_[0-9a-f]+_capture"/);
      } finally {
        await weak.end();
      }
      const { rows } = await app.query(`SELECT 1 FROM pg_namespace WHERE nspname = $1 UNION ALL SELECT 1 FROM pg_roles WHERE rolname = $2`, [
        schema,
        `${schema}_capture`,
      ]);
      expect(rows).toEqual([]);

      // With CREATEROLE it works, and the role is kept by disable --drop-tables (roles are cluster-wide).
      await app.query(`ALTER ROLE "${role}" CREATEROLE`);
      const able = await connectPostgres(pgUrl(name, role));
      try {
        await enablePostgres(able, { schema });
        await app.query('INSERT INTO item VALUES (1)');
        expect((await feed(app, schema)).map((e) => e.subject)).toEqual(['1']);
        const off = await disablePostgres(able, { schema, dropTables: true });
        expect(off.notices.join(' ')).toMatch(/kept role/);
      } finally {
        await able.end();
      }
    } finally {
      await app.query(`DROP ROLE IF EXISTS "${schema}_capture"`);
      await audite.end();
    }
  });
});

describe('capture order with app triggers', () => {
  const NODE = `
    CREATE TABLE node (id int PRIMARY KEY, parent int, path text);
    CREATE FUNCTION node_path() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN UPDATE node SET path = NEW.id::text WHERE id = NEW.id; RETURN NULL; END$$;`;

  test("a row an app trigger writes again ends with the app trigger's write", async () => {
    const { app, audite } = await setup(
      `${NODE} CREATE TRIGGER a_node_path AFTER INSERT ON node FOR EACH ROW WHEN (NEW.path IS NULL) EXECUTE FUNCTION node_path();`,
    );
    try {
      await enablePostgres(audite);
      await app.query('INSERT INTO node (id) VALUES (1), (2)');
      const events = await feed(app);
      expect(events.map((e) => `${e.type} ${e.subject} ${String(e.data.new?.path)}`)).toEqual([
        'node.created 1 null',
        'node.updated 1 1',
        'node.created 2 null',
        'node.updated 2 2',
      ]);
    } finally {
      await audite.end();
    }
  });

  test('an app trigger added after enable is drift: status reports the table stale until enable runs again', async () => {
    const { app, audite } = await setup(NODE);
    try {
      await enablePostgres(audite);
      expect((await readPgStatus(audite)).stale).toEqual([]);
      await app.query('CREATE TRIGGER a_node_path AFTER INSERT ON node FOR EACH ROW WHEN (NEW.path IS NULL) EXECUTE FUNCTION node_path()');
      expect((await readPgStatus(audite)).stale).toEqual(['node']);
      await enablePostgres(audite);
      expect((await readPgStatus(audite)).stale).toEqual([]);
      await app.query('INSERT INTO node (id) VALUES (1)');
      expect((await feed(app)).at(-1)?.data.new?.path).toBe('1');
    } finally {
      await audite.end();
    }
  });
});

describe('session settings', () => {
  test('a timestamptz key gets the same subject from sessions in different time zones and styles', async () => {
    const { url, app, audite } = await setup('CREATE TABLE slot (at timestamptz PRIMARY KEY, d interval, b bytea)');
    try {
      await enablePostgres(audite);
      const other = await pgApp(url);
      await other.query(`SET TimeZone = 'America/New_York'; SET DateStyle = 'German'; SET IntervalStyle = 'sql_standard'; SET bytea_output = 'escape'`);
      await other.query(`INSERT INTO slot VALUES ('2024-01-02 03:04:05+00', '1 day', '\\x01')`);
      await app.query(`SET TimeZone = 'Asia/Tokyo'`);
      await app.query(`UPDATE slot SET d = '2 days'`);
      const events = await feed(app);
      expect(events.map((e) => e.subject)).toEqual(['2024-01-02T03:04:05+00:00', '2024-01-02T03:04:05+00:00']);
      expect(events[0]?.data.new).toEqual({ at: '2024-01-02T03:04:05+00:00', d: '1 day', b: '\\x01' });
    } finally {
      await audite.end();
    }
  });
});
