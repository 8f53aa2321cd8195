// enablePostgres / disablePostgres / readPgStatus: installation in one transaction, idempotence, concurrency, drift.
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { readPgStoredSpec } from '../../src/capture/postgres/pg-capture-spec.ts';
import { disablePostgres } from '../../src/capture/postgres/pg-disable.ts';
import { enablePostgres, type PgEnableOptions } from '../../src/capture/postgres/pg-enable.ts';
import { readPgStatus } from '../../src/capture/postgres/pg-status.ts';
import { isAuditeError } from '../../src/errors.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import type { PgClient } from '../../src/postgres/pg-client.ts';
import { freshPgDatabase, pgApp, pgUrl, unprivilegedRole } from '../support/postgres.ts';

async function setup(ddl: string): Promise<{ url: string; app: pg.Client; audite: PgClient }> {
  const { url } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(ddl);
  const audite = await connectPostgres(url);
  return { url, app, audite };
}

async function withAudite<T>(url: string, fn: (client: PgClient) => Promise<T>): Promise<T> {
  const client = await connectPostgres(url);
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function events(app: pg.Client, schema = 'audite'): Promise<string[]> {
  const { rows } = await app.query<{ type: string; subject: string }>(`SELECT type, subject FROM "${schema}".changefeed ORDER BY id`);
  return rows.map((r) => `${r.type} ${r.subject}`);
}

/** Every object audite may have made: schemas, functions in them, triggers whose functions are there. */
async function auditeObjects(app: pg.Client): Promise<string[]> {
  const { rows } = await app.query<{ what: string }>(
    `SELECT 'schema ' || nspname AS what FROM pg_namespace WHERE nspname LIKE 'audit%'
     UNION ALL SELECT 'trigger ' || tgname FROM pg_trigger WHERE NOT tgisinternal
     UNION ALL SELECT 'function ' || proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
     ORDER BY 1`,
  );
  return rows.map((r) => r.what);
}

const DDL = `CREATE TABLE item (id bigint PRIMARY KEY, name text, secret text);
             CREATE TABLE note (k text PRIMARY KEY, body text);`;

describe('enablePostgres', () => {
  test('installs the schema, feed and triggers; a re-run changes nothing; --dry-run changes nothing', async () => {
    const { url, app, audite } = await setup(DDL);
    try {
      const dry = await enablePostgres(audite, { dryRun: true });
      expect(dry.dryRun).toBe(true);
      expect(dry.statements.some((s) => s.startsWith('CREATE SCHEMA IF NOT EXISTS "audite"'))).toBe(true);
      expect(await auditeObjects(app)).toEqual([]);

      const first = await enablePostgres(audite);
      expect(first).toMatchObject({ upToDate: false, tables: ['item', 'note'], stale: ['item', 'note'] });
      const again = await enablePostgres(audite);
      expect(again).toMatchObject({ upToDate: true, statements: [], tables: ['item', 'note'], stale: [] });
      expect((await enablePostgres(audite, { dryRun: true })).statements).toEqual([]);

      await app.query(`INSERT INTO item VALUES (1, 'a', 's'); INSERT INTO note VALUES ('n', 'b'); UPDATE item SET name = 'b'; DELETE FROM note`);
      expect(await events(app)).toEqual(['item.created 1', 'note.created n', 'item.updated 1', 'note.deleted n']);
      const status = await readPgStatus(audite);
      expect(status).toMatchObject({ tables: ['item', 'note'], stale: [], problems: [], feed: { events: 4, headId: 4, oldestId: 1 }, consumers: [] });
    } finally {
      await audite.end();
    }
    expect(url).toMatch(/^postgres/);
  });

  test('two concurrent enables: one installs, the other waits and finds everything installed', async () => {
    const { url, app } = await setup(DDL);
    const [a, b] = await Promise.all([withAudite(url, (c) => enablePostgres(c)), withAudite(url, (c) => enablePostgres(c))]);
    expect([a.upToDate, b.upToDate].sort()).toEqual([false, true]);
    // Exactly one set of triggers, and capture works once per write.
    const { rows } = await app.query(`SELECT tgrelid::regclass::text AS t, tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1, 2`);
    expect(rows).toHaveLength(8);
    await app.query(`INSERT INTO item VALUES (1, 'a', 's')`);
    expect(await events(app)).toEqual(['item.created 1']);
  });

  test('one transaction: a failure half-way leaves nothing behind', async () => {
    const { app, audite } = await setup(`${DDL} CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
      CREATE TRIGGER "!audite_capture_truncate" AFTER TRUNCATE ON note FOR EACH STATEMENT EXECUTE FUNCTION boom();`);
    try {
      // The app already has a trigger with the name audite wants on note: CREATE TRIGGER fails after item's were made.
      const error = await enablePostgres(audite).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      expect(await auditeObjects(app)).toEqual(['function boom', 'trigger !audite_capture_truncate']);
    } finally {
      await audite.end();
    }
  });

  test('tables: include, exclude, schema.table, unknown, partitions, keyless, replica identity', async () => {
    const { app, audite } = await setup(`${DDL}
      CREATE SCHEMA sales; CREATE TABLE sales."order" (id int PRIMARY KEY);
      CREATE TABLE loose (a int NOT NULL, b text); CREATE UNIQUE INDEX loose_a ON loose (a);
      CREATE TABLE part (id int, r int, PRIMARY KEY (id, r)) PARTITION BY LIST (r); CREATE TABLE part_1 PARTITION OF part FOR VALUES IN (1);`);
    try {
      const refused = await enablePostgres(audite).catch((e: unknown) => e);
      expect(isAuditeError(refused, 'UNSUPPORTED_TABLE')).toBe(true);
      expect((refused as Error).message).toMatch(/"loose" has no primary key or replica identity index.*REPLICA IDENTITY USING INDEX/);
      expect(await auditeObjects(app)).toEqual([]);

      for (const [options, code] of [
        [{ tables: ['nope'] }, 'UNKNOWN_TABLE'],
        [{ excludeTables: ['nope'] }, 'UNKNOWN_TABLE'],
        [{ tables: ['part_1'] }, 'UNSUPPORTED_TABLE'],
        [{ tables: ['item'], excludeColumns: { item: ['nope'] } }, 'UNKNOWN_COLUMN'],
        [{ tables: ['item'], excludeColumns: { item: ['id'] } }, 'INVALID_ARGUMENT'],
        [{ schema: 'public' }, 'INVALID_ARGUMENT'],
      ] as [PgEnableOptions, string][]) {
        const error = await enablePostgres(audite, options).catch((e: unknown) => e);
        expect(isAuditeError(error) && error.code).toBe(code);
      }
      expect(await auditeObjects(app)).toEqual([]);

      await app.query('ALTER TABLE loose REPLICA IDENTITY USING INDEX loose_a');
      const result = await enablePostgres(audite, { excludeTables: ['note'] });
      // Default: every table in public (partitions through their parent), not other schemas.
      expect(result.tables).toEqual(['item', 'loose', 'part']);
      expect((await enablePostgres(audite, { tables: ['public.item', 'sales.order'] })).tables).toEqual(['item', 'sales.order']);
      expect((await readPgStoredSpec(audite, 'audite'))?.tables).toEqual(['item', 'sales.order']);
      await app.query(`INSERT INTO sales."order" VALUES (7); INSERT INTO loose VALUES (1, 'x')`);
      expect(await events(app)).toEqual(['sales.order.created 7']);
      await enablePostgres(audite, { tables: null });
      await app.query(`UPDATE loose SET b = 'y'`);
      expect(await events(app)).toEqual(['sales.order.created 7', 'loose.updated 1']);
    } finally {
      await audite.end();
    }
  });

  test('an app role with no privilege on the feed is captured, and cannot write to the feed itself', async () => {
    const { url, app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { tables: ['item'] });
      const dbName = new URL(url).pathname.slice(1);
      const role = await unprivilegedRole(dbName);
      await app.query(`GRANT USAGE ON SCHEMA public TO "${role}"; GRANT INSERT, UPDATE, SELECT ON item TO "${role}"`);
      const writer = await pgApp(pgUrl(dbName, role));
      await writer.query(`BEGIN; SET LOCAL audite.actor = 'app'; INSERT INTO item VALUES (1, 'a', 's'); UPDATE item SET name = 'b'; COMMIT`);
      expect(await events(app)).toEqual(['item.created 1', 'item.updated 1']);
      await expect(writer.query(`INSERT INTO audite.changefeed (source, subject, type) VALUES ('x', 'y', 'z')`)).rejects.toThrow(/permission denied/);
      await expect(writer.query(`SELECT audite.drift_subject('item'::regclass, '{}')`)).rejects.toThrow(/permission denied/);
    } finally {
      await audite.end();
    }
  });

  test('a second feed schema captures the same table independently', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { tables: ['item'] });
      await enablePostgres(audite, { tables: ['item'], schema: 'audit2' });
      await app.query(`INSERT INTO item VALUES (1, 'a', 's')`);
      expect(await events(app)).toEqual(['item.created 1']);
      expect(await events(app, 'audit2')).toEqual(['item.created 1']);
      await disablePostgres(audite, { schema: 'audit2', dropTables: true });
      await app.query(`INSERT INTO item VALUES (2, 'a', 's')`);
      expect(await events(app)).toEqual(['item.created 1', 'item.created 2']);
    } finally {
      await audite.end();
    }
  });
});

describe('drift', () => {
  test('a column added is captured without a rebuild; a renamed key is stale but the subject stays right', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { tables: ['item'] });
      await app.query(`ALTER TABLE item ADD COLUMN extra int DEFAULT 5; INSERT INTO item VALUES (1, 'a', 's')`);
      expect((await readPgStatus(audite)).stale).toEqual([]);
      const { rows } = await app.query<{ data: string }>('SELECT data::text FROM audite.changefeed');
      expect(JSON.parse(rows[0]!.data)).toEqual({ new: { id: 1, name: 'a', secret: 's', extra: 5 } });

      await app.query('ALTER TABLE item RENAME COLUMN id TO item_id');
      expect((await readPgStatus(audite)).stale).toEqual(['item']);
      // Until enable runs again, writes still work and carry the right subject (read from the catalog).
      await app.query(`INSERT INTO item VALUES (2, 'b', 's'); UPDATE item SET name = 'c' WHERE item_id = 2; DELETE FROM item WHERE item_id = 1`);
      expect(await events(app)).toEqual(['item.created 1', 'item.created 2', 'item.updated 2', 'item.deleted 1']);
      expect((await enablePostgres(audite)).stale).toEqual(['item']);
      expect((await readPgStatus(audite)).stale).toEqual([]);
    } finally {
      await audite.end();
    }
  });

  test('an excluded column stays excluded when renamed; status names the problem; --include-column clears it', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { tables: ['item'], excludeColumns: { item: ['secret'] } });
      await app.query(`ALTER TABLE item RENAME COLUMN secret TO password; INSERT INTO item VALUES (1, 'a', 'hunter2')`);
      const { rows } = await app.query<{ data: string }>('SELECT data::text FROM audite.changefeed');
      expect(rows[0]!.data).not.toContain('hunter2');
      expect(JSON.parse(rows[0]!.data)).toEqual({ new: { id: 1, name: 'a' } });
      const status = await readPgStatus(audite);
      expect(status.problems).toEqual([expect.stringMatching(/no column named "secret" to exclude.*--include-column item\.secret/)]);
      const error = await enablePostgres(audite).catch((e: unknown) => e);
      expect(isAuditeError(error, 'UNKNOWN_COLUMN')).toBe(true);
      await enablePostgres(audite, { includeColumns: { item: ['secret'] }, excludeColumns: { item: ['password'] } });
      expect((await readPgStatus(audite)).problems).toEqual([]);
      await app.query(`UPDATE item SET name = 'b'`);
      const { rows: after } = await app.query<{ data: string }>('SELECT data::text FROM audite.changefeed ORDER BY id DESC LIMIT 1');
      expect(after[0]!.data).not.toContain('hunter2');
    } finally {
      await audite.end();
    }
  });

  test('a key constraint dropped keeps the old key; a key column dropped fails writes with a clear message', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { tables: ['note'] });
      await app.query('ALTER TABLE note DROP CONSTRAINT note_pkey');
      await app.query(`INSERT INTO note VALUES ('a', 'b')`);
      expect(await events(app)).toEqual(['note.created a']);
      expect((await readPgStatus(audite)).problems).toEqual([expect.stringMatching(/"note" has no primary key/)]);

      // With the key column gone, a subject cannot be made: the write fails rather than record an event without one.
      await app.query('ALTER TABLE note ADD COLUMN id int NOT NULL DEFAULT 1; ALTER TABLE note DROP COLUMN k');
      await expect(app.query(`INSERT INTO note (body) VALUES ('c')`)).rejects.toThrow(/note has no primary key or replica identity index any more/);
      await app.query('ALTER TABLE note ADD PRIMARY KEY (id, body)');
      await app.query(`INSERT INTO note (body) VALUES ('c')`);
      expect(await events(app)).toEqual(['note.created a', 'note.created 1:c']);
      expect((await readPgStatus(audite)).stale).toEqual(['note']);
      await enablePostgres(audite);
      await app.query(`UPDATE note SET id = 2 WHERE body = 'c'`);
      expect(await events(app)).toEqual(['note.created a', 'note.created 1:c', 'note.deleted 1:c', 'note.created 2:c']);
    } finally {
      await audite.end();
    }
  });

  test('a renamed table is stale and its events keep the old source until enable runs', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { tables: null });
      await app.query('ALTER TABLE note RENAME TO memo');
      expect((await readPgStatus(audite)).stale).toEqual(['memo']);
      await enablePostgres(audite);
      await app.query(`INSERT INTO memo VALUES ('m', 'x')`);
      expect(await events(app)).toEqual(['memo.created m']);
      const { rows } = await app.query(`SELECT proname FROM pg_proc WHERE pronamespace = 'audite'::regnamespace AND proname LIKE 'capture\\_%' ORDER BY 1`);
      expect(rows.map((r: { proname: string }) => r.proname.replace(/_[0-9a-f]{8}$/, ''))).toEqual(['capture_item', 'capture_memo']);
    } finally {
      await audite.end();
    }
  });

  test('a trigger disabled by hand is stale and enable turns it back on', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { tables: ['item'] });
      await app.query('ALTER TABLE item DISABLE TRIGGER "!audite_capture_insert"');
      expect((await readPgStatus(audite)).stale).toEqual(['item']);
      await enablePostgres(audite);
      await app.query(`INSERT INTO item VALUES (1, 'a', 's')`);
      expect(await events(app)).toEqual(['item.created 1']);
    } finally {
      await audite.end();
    }
  });
});

describe('disablePostgres', () => {
  test('drops triggers and functions and keeps the feed; with dropTables the schema goes too', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite, { historyIndexes: true });
      await app.query(`INSERT INTO item VALUES (1, 'a', 's')`);
      const dry = await disablePostgres(audite, { dryRun: true, dropTables: true });
      expect(dry.statements.at(-1)).toBe('DROP SCHEMA IF EXISTS "audite"');
      expect((await readPgStatus(audite)).tables).toEqual(['item', 'note']);

      await disablePostgres(audite);
      await app.query(`INSERT INTO item VALUES (2, 'a', 's')`);
      expect(await events(app)).toEqual(['item.created 1']);
      const status = await readPgStatus(audite);
      expect(status.tables).toEqual([]);
      expect(status.problems).toContain('capture is disabled: no audite triggers; run `audite enable` to capture changes again');
      expect(await auditeObjects(app)).toEqual(['schema audite']);
      expect((await disablePostgres(audite)).statements).toEqual([]);

      await disablePostgres(audite, { dropTables: true });
      expect(await auditeObjects(app)).toEqual([]);
      const error = await readPgStatus(audite).catch((e: unknown) => e);
      expect(isAuditeError(error, 'NOT_ENABLED')).toBe(true);
    } finally {
      await audite.end();
    }
  });

  test('dropTables keeps the schema when someone else put objects in it', async () => {
    const { app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite);
      await app.query('CREATE TABLE audite.mine (x int)');
      const result = await disablePostgres(audite, { dropTables: true });
      expect(result.notices).toEqual([
        'kept schema "audite": it holds objects audite did not create',
        expect.stringMatching(/^kept role "audite_capture" \(roles are cluster-wide\)/),
      ]);
      const { rows } = await app.query(`SELECT relname FROM pg_class WHERE relnamespace = 'audite'::regnamespace AND relkind = 'r'`);
      expect(rows).toEqual([{ relname: 'mine' }]);
    } finally {
      await audite.end();
    }
  });
});

describe('status', () => {
  test('consumers with lag, halted and last error; the oldest running transaction', async () => {
    const { url, app, audite } = await setup(DDL);
    try {
      await enablePostgres(audite);
      await app.query(`INSERT INTO item SELECT g, 'n', 's' FROM generate_series(1, 5) g`);
      await app.query(`INSERT INTO audite.cursor (consumer, position) VALUES ('kafka', 2);
                       INSERT INTO audite.cursor (consumer, position, halted, last_error) VALUES ('http', 0, true, 'HTTP 400');
                       INSERT INTO audite.deadletter (consumer, event_id, event, error) VALUES ('http', 1, '{}', 'bad')`);
      const holder = await pgApp(url);
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO note VALUES ('held', 'x')`);
      const status = await readPgStatus(audite);
      expect(status.feed).toMatchObject({ events: 5, headId: 5 });
      expect(status.consumers).toMatchObject([
        { consumer: 'http', position: 0, lag: 5, halted: true, lastError: 'HTTP 400', deadLetters: 1, lastDeliveryAt: null },
        { consumer: 'kafka', position: 2, lag: 3, halted: false, lastError: null, deadLetters: 0 },
      ]);
      // The horizon is cluster-wide: another test's transaction may be older than ours, but some holder is reported.
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      expect(status.oldestTransaction).toMatchObject({ prepared: false, pid: expect.any(Number), ageSeconds: expect.any(Number) });
      if (status.oldestTransaction?.pid === holderPid) expect(status.oldestTransaction.state).toBe('idle in transaction');
      await holder.query('ROLLBACK');
    } finally {
      await audite.end();
    }
  });
});
