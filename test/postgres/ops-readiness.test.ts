import { expect, test } from 'vitest';
import { startReceiver } from '../support/http-receiver.ts';
import { pgApp } from '../support/postgres.ts';
import { runRelay, testConfig } from '../support/relay.ts';
import { readyz, scrape, valueOf } from '../ops/support.ts';
import { change, eventually, pgCursorOf, pgFeed, transaction } from './relay-support.ts';

test('/metrics on PostgreSQL: published events, head, oldest, checkpoint, lag, dead letters, and no transaction holding the feed back', async () => {
  const fixture = await pgFeed();
  const receiver = await startReceiver();
  receiver.enqueue('ok', 'ok', 'badRequest');
  const relay = await runRelay(
    testConfig({
      database: fixture.url,
      ops: { port: 0 },
      sinks: [{ type: 'http', name: 'hook', url: receiver.url, onPermanentFailure: 'dead-letter' }],
    }),
  );
  try {
    for (let i = 1; i <= 4; i++) await transaction(fixture.app, fixture.feed, [[i, 1]]);
    await eventually(async () => (await pgCursorOf(fixture, 'hook')) === 4, 20_000, 'delivery');
    await eventually(async () => (await readyz(relay)).status === 200, 20_000, 'ready');
    const samples = await scrape(relay);
    const hook = { consumer: 'hook' };
    expect(valueOf(samples, 'audite_events_published_total', hook)).toBe(4);
    expect(valueOf(samples, 'audite_dead_lettered_total', hook)).toBe(1);
    expect(valueOf(samples, 'audite_dead_letters', hook)).toBe(1);
    expect(valueOf(samples, 'audite_feed_head_id')).toBe(4);
    expect(valueOf(samples, 'audite_feed_oldest_id')).toBe(1);
    expect(valueOf(samples, 'audite_checkpoint_position', hook)).toBe(4);
    expect(valueOf(samples, 'audite_consumer_lag_events', hook)).toBe(0);
    expect(valueOf(samples, 'audite_consumer_lag_seconds', hook)).toBe(0);
    expect(valueOf(samples, 'audite_consumer_halted', hook)).toBe(0);
    expect(valueOf(samples, 'audite_source_held_back_seconds')).toBeGreaterThanOrEqual(0);
  } finally {
    await relay.stop();
  }
});

test('a transaction open longer than source.postgres.heldBackThresholdMs: /readyz says who holds the feed back, the gauge shows how long; ready again once it ends', async () => {
  const fixture = await pgFeed();
  const relay = await runRelay(
    testConfig({ database: fixture.url, ops: { port: 0 }, source: { postgres: { heldBackThresholdMs: 300 } }, sinks: [{ type: 'stdout', name: 'out' }] }),
  );
  const held = await pgApp(fixture.url);
  try {
    await held.query("SET application_name = 'billing worker'");
    await held.query('BEGIN');
    await change(held, fixture.feed, 1, 1);
    await eventually(async () => (await readyz(relay)).status === 503, 20_000, 'not ready');
    const { body } = await readyz(relay);
    expect(body.reasons).toContainEqual(
      expect.stringMatching(
        /^source: the feed is held back: transaction of backend pid \d+ \(.*\) has been open for \d+ s; events committed since wait until it ends .*delayed, not lost$/,
      ),
    );
    const pid = (await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    // The oldest writer in the cluster is named; in a quiet cluster it is ours.
    if (body.reasons.some((r) => r.includes(`pid ${pid} `))) expect(body.reasons.join('\n')).toContain('application "billing worker", idle in transaction');
    expect(valueOf(await scrape(relay), 'audite_source_held_back_seconds')).toBeGreaterThanOrEqual(0.3);
    await held.query('COMMIT');
    await eventually(async () => (await readyz(relay)).status === 200, 30_000, 'ready again');
    await eventually(async () => (await pgCursorOf(fixture, 'out')) === 1, 20_000, 'the held event delivered');
  } finally {
    await relay.stop();
  }
});
