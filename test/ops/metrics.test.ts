import { describe, expect, test } from 'vitest';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, runRelay, testConfig, waitFor } from '../support/relay.ts';
import { opsUrl, parseMetrics, readyz, scrape, valueOf } from './support.ts';

const fastRetry = { minDelayMs: 5, maxDelayMs: 20 };

describe('ops endpoint', () => {
  test('healthz, readyz and metrics on 127.0.0.1: published events, head, checkpoint, lag and batch durations', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    const relay = await runRelay(testConfig({ database: file, ops: { port: 0 }, sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url }] }));
    try {
      expect(relay.ops?.server?.host).toBe('127.0.0.1');
      const health = await fetch(opsUrl(relay, '/healthz'));
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok' });

      const insert = app.prepare('INSERT INTO item (name, qty) VALUES (?, ?)');
      for (let i = 0; i < 25; i++) insert.run(`n${i}`, i);
      await waitFor(() => cursorOf(app, 'hook') === 25, 20_000, 'delivery');

      expect(await readyz(relay)).toEqual({ status: 200, body: { ready: true, reasons: [] } });
      const response = await fetch(opsUrl(relay, '/metrics'));
      expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const samples = parseMetrics(await response.text());
      const hook = { consumer: 'hook' };
      expect(valueOf(samples, 'audite_events_published_total', hook)).toBe(25);
      expect(valueOf(samples, 'audite_feed_head_id')).toBe(25);
      expect(valueOf(samples, 'audite_feed_oldest_id')).toBe(1);
      expect(valueOf(samples, 'audite_checkpoint_position', hook)).toBe(25);
      expect(valueOf(samples, 'audite_consumer_lag_events', hook)).toBe(0);
      expect(valueOf(samples, 'audite_consumer_lag_seconds', hook)).toBe(0);
      expect(valueOf(samples, 'audite_consumer_halted', hook)).toBe(0);
      expect(valueOf(samples, 'audite_dead_letters', hook)).toBe(0);
      expect(valueOf(samples, 'audite_delivery_retries_total', hook)).toBe(0);
      expect(valueOf(samples, 'audite_delivery_errors_total', { consumer: 'hook', kind: 'transient' })).toBe(0);
      const batches = valueOf(samples, 'audite_batch_duration_seconds_count', hook) ?? 0;
      expect(batches).toBeGreaterThanOrEqual(1);
      expect(valueOf(samples, 'audite_batch_duration_seconds_bucket', { consumer: 'hook', le: '+Inf' })).toBe(batches);
      expect(valueOf(samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
      expect((await fetch(opsUrl(relay, '/nope'))).status).toBe(404);
      expect((await fetch(opsUrl(relay, '/metrics'), { method: 'POST' })).status).toBe(405);
    } finally {
      await relay.stop();
    }
  });

  test('a failing sink: retries counted, readyz 503 with the reason, ready again once it delivers', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    receiver.setDefault('error500');
    const relay = await runRelay(
      testConfig({ database: file, ops: { port: 0 }, sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url, retry: fastRetry }] }),
    );
    try {
      app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1)").run();
      await receiver.waitForRequests(3);
      const notReady = await readyz(relay);
      expect(notReady.status).toBe(503);
      expect(notReady.body.ready).toBe(false);
      expect(notReady.body.reasons).toEqual([
        expect.stringMatching(/^consumer hook: sink http not delivering: HTTP 500 from http:\/\/127\.0\.0\.1:\d+\/hook$/),
      ]);
      receiver.setDefault('ok');
      await waitFor(() => cursorOf(app, 'hook') === 1, 20_000, 'delivery after the failures');
      const failed = receiver.requests.filter((r) => r.outcome === 'error500').length;
      const samples = await scrape(relay);
      // Each failed attempt was retried (the last one succeeded).
      expect(valueOf(samples, 'audite_delivery_retries_total', { consumer: 'hook' })).toBe(failed);
      expect(valueOf(samples, 'audite_events_published_total', { consumer: 'hook' })).toBe(1);
      expect((await readyz(relay)).status).toBe(200);
    } finally {
      await relay.stop();
    }
  });

  test('lag in events and seconds while a sink is down; halted and dead-lettered consumers', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    const down = await startReceiver();
    down.setDefault('error500');
    receiver.setDefault('badRequest');
    const relay = await runRelay(
      testConfig({
        database: file,
        ops: { port: 0 },
        sinks: [
          { type: 'http', name: 'strict', url: receiver.url, onPermanentFailure: 'halt' },
          { type: 'http', name: 'lenient', url: receiver.url, onPermanentFailure: 'dead-letter' },
          { type: 'http', name: 'down', url: down.url, retry: fastRetry },
        ],
      }),
    );
    try {
      app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3)").run();
      // Make the pending events look 2 minutes old, so lag in seconds is unambiguous.
      app.prepare('UPDATE audite_changefeed SET time = time - 120').run();
      await waitFor(() => cursorOf(app, 'lenient') === 3, 20_000, 'lenient to dead-letter all three');
      await waitFor(() => relay.consumers.find((c) => c.name === 'strict')?.outcome === 'halted', 20_000, 'strict to halt');
      await down.waitForRequests(2);
      const samples = await scrape(relay);
      expect(valueOf(samples, 'audite_consumer_halted', { consumer: 'strict' })).toBe(1);
      expect(valueOf(samples, 'audite_consumer_halted', { consumer: 'lenient' })).toBe(0);
      expect(valueOf(samples, 'audite_dead_letters', { consumer: 'lenient' })).toBe(3);
      expect(valueOf(samples, 'audite_dead_lettered_total', { consumer: 'lenient' })).toBe(3);
      expect(valueOf(samples, 'audite_delivery_errors_total', { consumer: 'strict', kind: 'permanent' })).toBe(1);
      expect(valueOf(samples, 'audite_consumer_lag_events', { consumer: 'down' })).toBe(3);
      expect(valueOf(samples, 'audite_consumer_lag_events', { consumer: 'strict' })).toBe(3);
      expect(valueOf(samples, 'audite_consumer_lag_seconds', { consumer: 'down' })).toBeGreaterThanOrEqual(120);
      expect(valueOf(samples, 'audite_consumer_lag_seconds', { consumer: 'lenient' })).toBe(0);
      expect(valueOf(samples, 'audite_delivery_retries_total', { consumer: 'down' })).toBeGreaterThanOrEqual(1);
      const ready = await readyz(relay);
      expect(ready.status).toBe(503);
      expect(ready.body.reasons).toContainEqual(expect.stringMatching(/^consumer strict: halted on event 1: .*HTTP 400/));
      expect(ready.body.reasons).toContainEqual(expect.stringMatching(/^consumer down: sink http not delivering: HTTP 500/));
    } finally {
      await relay.stop();
    }
  });

  test('no ops port: nothing listens; port in use: a config error at start', async () => {
    const { file } = appDatabase();
    const relay = await runRelay(testConfig({ database: file }));
    expect(relay.ops?.server).toBeUndefined();
    await relay.stop();
    const first = await runRelay(testConfig({ database: file, ops: { port: 0 } }));
    try {
      await expect(runRelay(testConfig({ database: file, ops: { port: first.ops?.server?.port } }))).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    } finally {
      await first.stop();
    }
  });
});
