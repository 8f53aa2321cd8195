// Hostile and odd names: every identifier is quoted, every name in a string literal escaped, long names never collide.
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { captureFunctionName, captureTriggerName } from '../../src/capture/postgres/pg-names.ts';
import { enablePostgres } from '../../src/capture/postgres/pg-enable.ts';
import { disablePostgres } from '../../src/capture/postgres/pg-disable.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import type { PgClient } from '../../src/postgres/pg-client.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';

const q = (name: string): string => `"${name.replaceAll('"', '""')}"`;

const HOSTILE = ["it's", 'x"; DROP TABLE y; --', 'with space', 'dotted.name', 'Ünïcødé 表', 'select', '$audite$ end', "'); DROP TABLE y; --", 'CamelCase'];

async function setup(ddl: string): Promise<{ app: pg.Client; audite: PgClient }> {
  const { url } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(ddl);
  return { app, audite: await connectPostgres(url) };
}

describe('identifiers', () => {
  test('tables and columns with quotes, spaces, dots, unicode, keywords and dollar tags are captured exactly; y survives', async () => {
    const tables = HOSTILE.map(
      (name, i) =>
        `CREATE TABLE ${q(name)} (${q(`${name} id`)} int PRIMARY KEY, ${q(name)} text, "audite_ctx" text, "audite_j" int, "audite_t" int, n int DEFAULT ${i});`,
    );
    const { app, audite } = await setup(`CREATE TABLE y (id int PRIMARY KEY); INSERT INTO y VALUES (1); ${tables.join('\n')}`);
    try {
      const result = await enablePostgres(audite, { excludeColumns: Object.fromEntries(HOSTILE.map((name) => [name, ['audite_t']])) });
      expect(result.tables.sort()).toEqual([...HOSTILE, 'y'].sort());
      for (const name of HOSTILE) {
        await app.query(`INSERT INTO ${q(name)} (${q(`${name} id`)}, ${q(name)}, audite_ctx, audite_j, audite_t) VALUES (1, $1, 'c', 2, 3)`, [name]);
        await app.query(`UPDATE ${q(name)} SET ${q(name)} = ${q(name)} || '!'`);
        await app.query(`UPDATE ${q(name)} SET ${q(`${name} id`)} = 2`);
        await app.query(`DELETE FROM ${q(name)}`);
      }
      await app.query('BEGIN');
      await app.query(`SET LOCAL audite.actor = $$it's "me"; --$$`);
      await app.query(`TRUNCATE ${HOSTILE.map(q).join(', ')}`);
      await app.query('COMMIT');
      const { rows } = await app.query<{ source: string; subject: string; type: string; data: string | null; context: string | null }>(
        'SELECT source, subject, type, data::text AS data, context::text AS context FROM audite.changefeed ORDER BY id',
      );
      for (const name of HOSTILE) {
        const mine = rows.filter((r) => r.source === name);
        expect(mine.map((r) => `${r.type.slice(name.length)} ${r.subject}`)).toEqual([
          '.created 1',
          '.updated 1',
          '.deleted 1',
          '.created 2',
          '.deleted 2',
          '.truncated ',
        ]);
        expect(JSON.parse(mine[0]!.data!)).toEqual({ new: { [`${name} id`]: 1, [name]: name, audite_ctx: 'c', audite_j: 2, n: HOSTILE.indexOf(name) } });
        expect(JSON.parse(mine[1]!.data!).new[name]).toBe(`${name}!`);
        expect(JSON.parse(mine[5]!.context!)).toEqual({ actor: `it's "me"; --` });
      }
      expect((await app.query('SELECT id FROM y')).rows).toEqual([{ id: 1 }]);
      await disablePostgres(audite, { dropTables: true });
      expect((await app.query('SELECT id FROM y')).rows).toEqual([{ id: 1 }]);
      const { rows: left } = await app.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal`);
      expect(left).toEqual([]);
    } finally {
      await audite.end();
    }
  });

  test('names at the 63-byte limit that differ only at the end get functions of their own; an odd feed schema works', async () => {
    const a = `${'é'.repeat(31)}a`; // 63 bytes
    const b = `${'é'.repeat(31)}b`;
    expect(Buffer.byteLength(a)).toBe(63);
    expect(captureFunctionName('public', a)).not.toBe(captureFunctionName('public', b));
    for (const name of [captureFunctionName('public', a), captureTriggerName('x'.repeat(80), 'truncate')])
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(63);
    const schema = 'Audit "log"; --';
    const { app, audite } = await setup(`CREATE TABLE ${q(a)} (id int PRIMARY KEY); CREATE TABLE ${q(b)} (id int PRIMARY KEY)`);
    try {
      await enablePostgres(audite, { schema });
      expect((await enablePostgres(audite, { schema })).upToDate).toBe(true);
      await app.query(`INSERT INTO ${q(a)} VALUES (1); INSERT INTO ${q(b)} VALUES (2)`);
      const { rows } = await app.query(`SELECT source, subject FROM ${q(schema)}.changefeed ORDER BY id`);
      expect(rows).toEqual([
        { source: a, subject: '1' },
        { source: b, subject: '2' },
      ]);
    } finally {
      await audite.end();
    }
  });
});
