// Who and why on PostgreSQL: SET LOCAL / set_config(…, true) per transaction, read by the triggers, never leaking.
import type pg from 'pg';
import { describe, expect, test } from 'vitest';
import { enablePostgres } from '../../src/capture/postgres/pg-enable.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';

async function setup(): Promise<{ url: string; app: pg.Client }> {
  const { url } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query(
    'CREATE TABLE item (id int PRIMARY KEY, name text); CREATE TABLE p (id int, r int, PRIMARY KEY (id, r)) PARTITION BY LIST (r); CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)',
  );
  const client = await connectPostgres(url);
  try {
    await enablePostgres(client);
  } finally {
    await client.end();
  }
  return { url, app };
}

async function contexts(app: pg.Client): Promise<[string, unknown][]> {
  const { rows } = await app.query<{ subject: string; context: string | null }>('SELECT subject, context::text AS context FROM audite.changefeed ORDER BY id');
  return rows.map((r) => [r.subject, r.context === null ? null : JSON.parse(r.context)]);
}

describe('context', () => {
  test('SET LOCAL and set_config(…, true) mark every event of their transaction, and nothing after it', async () => {
    const { app } = await setup();
    await app.query(`INSERT INTO item VALUES (1, 'none')`);
    await app.query('BEGIN');
    await app.query(`SET LOCAL audite.actor = 'alice'`);
    await app.query(`SET LOCAL audite.reason = 'fix typo'`);
    await app.query(`INSERT INTO item SELECT g, 'bulk' FROM generate_series(2, 4) g`);
    await app.query(`UPDATE item SET name = 'x' WHERE id = 1`);
    await app.query(`INSERT INTO p VALUES (1, 1)`);
    await app.query('COMMIT');
    // Same connection, next transaction: the settings read back as '' now, which must count as unset.
    await app.query(`INSERT INTO item VALUES (5, 'after')`);
    await app.query('BEGIN');
    await app.query(`SELECT set_config('audite.request_id', $1, true), set_config('audite.impersonated_by', $2, true), set_config('audite.actor', $3, true)`, [
      'req-7',
      'support',
      'bob',
    ]);
    await app.query(`DELETE FROM item WHERE id = 5`);
    await app.query('COMMIT');
    await app.query(`DELETE FROM item WHERE id = 4`);
    const alice = { actor: 'alice', reason: 'fix typo' };
    expect(await contexts(app)).toEqual([
      ['1', null],
      ['2', alice],
      ['3', alice],
      ['4', alice],
      ['1', alice],
      ['1:1', alice],
      ['5', null],
      ['5', { actor: 'bob', impersonated_by: 'support', request_id: 'req-7' }],
      ['4', null],
    ]);
  });

  test("one connection's context never reaches another's events, even while both transactions are open", async () => {
    const { url, app } = await setup();
    const other = await pgApp(url);
    await app.query('BEGIN');
    await app.query(`SET LOCAL audite.actor = 'alice'`);
    await app.query(`INSERT INTO item VALUES (1, 'a')`);
    await other.query('BEGIN');
    await other.query(`INSERT INTO item VALUES (2, 'b')`);
    await other.query(`SELECT set_config('audite.actor', 'bob', true)`);
    await other.query(`INSERT INTO item VALUES (3, 'c')`);
    await app.query(`INSERT INTO item VALUES (4, 'd')`);
    await other.query('COMMIT');
    await app.query('COMMIT');
    expect(new Map(await contexts(app))).toEqual(
      new Map<string, unknown>([
        ['1', { actor: 'alice' }],
        ['2', null],
        ['3', { actor: 'bob' }],
        ['4', { actor: 'alice' }],
      ]),
    );
  });

  test('a rolled-back transaction takes its context with it; an empty value counts as unset', async () => {
    const { app } = await setup();
    await app.query('BEGIN');
    await app.query(`SET LOCAL audite.actor = 'mallory'`);
    await app.query(`INSERT INTO item VALUES (1, 'a')`);
    await app.query('ROLLBACK');
    await app.query('BEGIN');
    await app.query(`SET LOCAL audite.actor = ''`);
    await app.query(`SET LOCAL audite.reason = 'only a reason'`);
    await app.query(`INSERT INTO item VALUES (2, 'b')`);
    await app.query('COMMIT');
    await app.query(`INSERT INTO item VALUES (3, 'c')`);
    expect(await contexts(app)).toEqual([
      ['2', { reason: 'only a reason' }],
      ['3', null],
    ]);
  });
});
