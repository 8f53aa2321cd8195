import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { runCli } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { freshPgDatabase, pgApp } from '../support/postgres.ts';
import { runRelay, testConfig } from '../support/relay.ts';
import { eventually } from './relay-support.ts';

test('with the capture triggers of `audite enable`: concurrent single-row and bulk transactions reach the sink complete, each row in commit order, with who/why', async () => {
  const { url } = await freshPgDatabase();
  const app = await pgApp(url);
  await app.query('CREATE TABLE account (id int PRIMARY KEY, balance int NOT NULL)');
  const enabled = await runCli(['enable', url]);
  expect(enabled.code, enabled.stderr).toBe(0);
  const receiver = await startReceiver();
  const relay = await runRelay(
    testConfig({ database: url, source: { batchSize: 50 }, sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url }] }),
  );
  try {
    const writers = await Promise.all([pgApp(url), pgApp(url), pgApp(url)]);
    await app.query('INSERT INTO account SELECT g, 0 FROM generate_series(1, 20) AS g');
    await Promise.all(
      writers.map(async (client, w) => {
        for (let t = 0; t < 60; t++) {
          await client.query('BEGIN');
          try {
            await client.query("SELECT set_config('audite.actor', $1, true)", [`writer-${w}`]);
            if (t % 10 === 0) await client.query('UPDATE account SET balance = balance + 1');
            else await client.query('UPDATE account SET balance = balance + 1 WHERE id = $1', [1 + ((t * 7 + w) % 20)]);
            if (t % 3 === 0) await sleep(1);
            await client.query(t % 13 === 12 ? 'ROLLBACK' : 'COMMIT');
          } catch (error) {
            // Two bulk updates may deadlock; PostgreSQL cancels one, which then rolls back.
            if ((error as { code?: string }).code !== '40P01') throw error;
            await client.query('ROLLBACK');
          }
        }
      }),
    );
    const { rows } = await app.query<{ id: string }>('SELECT id FROM audite.changefeed ORDER BY id');
    const head = Number(rows.at(-1)?.id);
    await eventually(
      async () => Number((await app.query<{ position: string }>("SELECT position FROM audite.cursor WHERE consumer = 'hook'")).rows[0]?.position) === head,
      30_000,
      'delivery of the whole feed',
    );
    const events = receiver
      .delivered()
      .flatMap((r) => JSON.parse(r.body) as { id: string; subject: string; actor?: string; data: { new?: { balance: number }; old?: { balance: number } } }[]);
    expect(events.map((e) => Number(e.id))).toEqual(rows.map((r) => Number(r.id)));
    for (let id = 1; id <= 20; id++) {
      const updates = events.filter((e) => e.subject === String(id) && e.data.old !== undefined);
      // Each committed update raised the balance by one: old → new runs 0→1, 1→2, … in delivery order.
      expect(
        updates.map((e) => [e.data.old?.balance, e.data.new?.balance]),
        `account ${id}`,
      ).toEqual(updates.map((_, i) => [i, i + 1]));
      expect(updates.every((e) => /^writer-\d$/.test(e.actor ?? ''))).toBe(true);
    }
  } finally {
    await relay.stop();
  }
}, 120_000);
