import type pg from 'pg';
import { pgFeedObjects } from '../../src/capture/postgres/pg-feed-schema.ts';
import { qualified } from '../../src/postgres/quote.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';

/**
 * A fresh database with audite's objects (as `enable` makes them) and an
 * `item` table. Events are written the way the capture triggers write them:
 * inside the app's transaction, after the app's row, so the transaction
 * already holds an xid when it draws the feed id.
 */
export interface PgFeedFixture {
  url: string;
  name: string;
  schema: string;
  app: pg.Client;
  feed: string;
  cursor: string;
}

export async function pgFeed(schema = 'audite'): Promise<PgFeedFixture> {
  const { url, name } = await freshPgDatabase();
  const app = await pgApp(url);
  for (const object of pgFeedObjects(schema)) await app.query(object.sql);
  await app.query('CREATE TABLE item (id integer PRIMARY KEY, v integer NOT NULL)');
  return { url, name, schema, app, feed: qualified(schema, 'changefeed'), cursor: qualified(schema, 'cursor') };
}

/** One row change and its feed event, in the caller's transaction (or on its own when none is open). */
export async function change(client: pg.Client, feed: string, id: number, v: number): Promise<void> {
  const { rows } = await client.query<{ created: boolean }>(
    'INSERT INTO item (id, v) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = excluded.v RETURNING (xmax = 0) AS created',
    [id, v],
  );
  const type = rows[0]?.created ? 'item.created' : 'item.updated';
  await client.query(
    `INSERT INTO ${feed} (source, subject, type, data) VALUES ('item', $1, $2, jsonb_build_object('new', jsonb_build_object('id', $3::int, 'v', $4::int)))`,
    [String(id), type, id, v],
  );
}

/** Several changes in one transaction on `client`. */
export async function transaction(client: pg.Client, feed: string, changes: [id: number, v: number][]): Promise<void> {
  await client.query('BEGIN');
  try {
    for (const [id, v] of changes) await change(client, feed, id, v);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

export async function feedRows(fixture: PgFeedFixture): Promise<{ id: number; subject: string; v: number }[]> {
  const { rows } = await fixture.app.query<{ id: string; subject: string; v: number }>(
    `SELECT id, subject, (data->'new'->>'v')::int AS v FROM ${fixture.feed} ORDER BY id`,
  );
  return rows.map((r) => ({ id: Number(r.id), subject: r.subject, v: r.v }));
}

export async function pgCursorOf(fixture: PgFeedFixture, consumer: string): Promise<number | undefined> {
  const { rows } = await fixture.app.query<{ position: string }>(`SELECT position FROM ${fixture.cursor} WHERE consumer = $1`, [consumer]);
  return rows[0] === undefined ? undefined : Number(rows[0].position);
}

/** Polls an async condition. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** CloudEvent ids and subjects from stdout-sink lines. */
export function parseLines(lines: string[]): { id: number; subject: string; v: number }[] {
  return lines.map((line) => {
    const event = JSON.parse(line) as { id: string; subject: string; data: { new: { v: number } } };
    return { id: Number(event.id), subject: event.subject, v: event.data.new.v };
  });
}
