import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { readyz } from '../ops/support.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { PG_ADMIN_URL, pgApp } from '../support/postgres.ts';
import { runRelay, testConfig } from '../support/relay.ts';
import { eventually, feedRows, pgCursorOf, pgFeed, transaction } from './relay-support.ts';

test("the server drops the relay's sessions, then refuses connections for a while: not ready meanwhile, then it reconnects and delivers everything, in order", async () => {
  const fixture = await pgFeed();
  const receiver = await startReceiver();
  const admin = await pgApp(PG_ADMIN_URL);
  const relay = await runRelay(
    testConfig({
      database: fixture.url,
      ops: { port: 0 },
      source: { batchSize: 10 },
      sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url }],
    }),
  );
  // Only this test's database: other tests' relays run on the same server.
  const terminate = async (): Promise<number> =>
    (await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'audite%' AND datname = $1`, [fixture.name]))
      .rowCount ?? 0;
  try {
    let v = 0;
    const write = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await transaction(fixture.app, fixture.feed, [[1 + (v % 5), ++v]]);
    };
    await write(20);
    await eventually(async () => (await pgCursorOf(fixture, 'hook')) === 20, 20_000, 'the first events');

    // Dropped sessions come back: each round delivers what was written meanwhile.
    for (let round = 0; round < 3; round++) {
      expect(await terminate()).toBeGreaterThanOrEqual(1);
      await write(15);
      await eventually(async () => (await pgCursorOf(fixture, 'hook')) === v, 20_000, `round ${round} delivered`);
    }
    // Then the server refuses new sessions: reads and cursor writes fail, readiness says so, writes go on.
    await admin.query(`ALTER DATABASE "${fixture.name}" WITH ALLOW_CONNECTIONS false`);
    await terminate();
    await write(15);
    await eventually(async () => (await readyz(relay)).status === 503, 20_000, 'not ready while the database refuses connections');
    expect((await readyz(relay)).body.reasons).toContainEqual(expect.stringMatching(/^source: the change feed cannot be read \(DB_UNAVAILABLE\)$/));
    await sleep(300);
    await admin.query(`ALTER DATABASE "${fixture.name}" WITH ALLOW_CONNECTIONS true`);
    await write(10);

    const feed = await feedRows(fixture);
    const head = feed.at(-1)?.id ?? 0;
    await eventually(async () => (await pgCursorOf(fixture, 'hook')) === head, 60_000, 'delivery after the outage');
    await eventually(async () => (await readyz(relay)).status === 200, 20_000, 'ready again');
    const arrivals = receiver.delivered().flatMap((r) => (JSON.parse(r.body) as { id: string }[]).map((e) => Number(e.id)));
    // At least once: a batch whose checkpoint write was cut off may come twice; first arrivals are in feed order.
    const firsts = arrivals.filter((id, i) => arrivals.indexOf(id) === i);
    expect(firsts).toEqual(feed.map((e) => e.id));
  } finally {
    await admin.query(`ALTER DATABASE "${fixture.name}" WITH ALLOW_CONNECTIONS true`).catch(() => {});
    await relay.stop();
  }
}, 120_000);
