import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { expect, test } from 'vitest';
import { startReceiver } from '../support/http-receiver.ts';
import { pgApp } from '../support/postgres.ts';
import { runRelay, testConfig } from '../support/relay.ts';
import { eventually, pgCursorOf, pgFeed, type PgFeedFixture } from './relay-support.ts';

const WRITERS = 5;
const TRANSACTIONS = 120;
const SUBJECTS = 8;

/**
 * One writer: transactions of 1-3 row changes, rows locked in id order (no
 * deadlocks), a pause inside some (so commits land late, out of id order),
 * and every tenth rolled back. Each change increments the row's counter, so
 * a row's committed values are 1, 2, 3, … in commit order.
 */
async function writer(client: pg.Client, fixture: PgFeedFixture): Promise<void> {
  const random = (n: number): number => Math.floor(Math.random() * n);
  for (let t = 0; t < TRANSACTIONS; t++) {
    const ids = [...new Set(Array.from({ length: 1 + random(3) }, () => 1 + random(SUBJECTS)))].sort((a, b) => a - b);
    await client.query('BEGIN');
    for (const id of ids) {
      const { rows } = await client.query<{ v: number }>('INSERT INTO item (id, v) VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET v = item.v + 1 RETURNING v', [
        id,
      ]);
      await client.query(
        `INSERT INTO ${fixture.feed} (source, subject, type, data) VALUES ('item', $1, 'item.updated', jsonb_build_object('new', jsonb_build_object('id', $2::int, 'v', $3::int)))`,
        [String(id), id, rows[0]?.v],
      );
      if (random(4) === 0) await sleep(random(4));
    }
    await client.query(t % 10 === 9 ? 'ROLLBACK' : 'COMMIT');
  }
}

test(`${WRITERS} concurrent writers with late commits and rollbacks: every committed event delivered once, in id order, each row in commit order`, async () => {
  const fixture = await pgFeed();
  const receiver = await startReceiver();
  const relay = await runRelay(
    testConfig({
      database: fixture.url,
      source: { pollIntervalMs: 2, batchSize: 25 },
      sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url }],
    }),
  );
  try {
    const clients = await Promise.all(Array.from({ length: WRITERS }, () => pgApp(fixture.url)));
    await Promise.all(clients.map((client) => writer(client, fixture)));
    const { rows } = await fixture.app.query<{ id: string; subject: string; v: number }>(
      `SELECT id, subject, (data->'new'->>'v')::int AS v FROM ${fixture.feed} ORDER BY id`,
    );
    const feed = rows.map((r) => ({ id: Number(r.id), subject: r.subject, v: r.v }));
    const head = feed.at(-1)?.id ?? 0;
    await eventually(async () => (await pgCursorOf(fixture, 'hook')) === head, 30_000, 'the relay to acknowledge the head');

    const delivered = receiver.delivered().flatMap((r) =>
      (JSON.parse(r.body) as { id: string; subject: string; data: { new: { v: number } } }[]).map((e) => ({
        id: Number(e.id),
        subject: e.subject,
        v: e.data.new.v,
      })),
    );
    // Every committed event, once, in id order: nothing lost to a late commit, nothing repeated.
    expect(delivered.map((e) => e.id)).toEqual(feed.map((e) => e.id));
    // Each row's changes in commit order: its counter runs 1, 2, 3, … with no gap and no reversal.
    for (let subject = 1; subject <= SUBJECTS; subject++) {
      const values = delivered.filter((e) => e.subject === String(subject)).map((e) => e.v);
      expect(values, `row ${subject}`).toEqual(values.map((_, i) => i + 1));
    }
    // At least one change per committed transaction.
    expect(feed.length).toBeGreaterThanOrEqual(WRITERS * TRANSACTIONS * 0.9);
  } finally {
    await relay.stop();
  }
}, 120_000);
