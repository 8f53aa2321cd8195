import { describe, expect, test } from 'vitest';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, memoryStream, runRelay, testConfig, waitFor } from '../support/relay.ts';

function insertItems(app: ReturnType<typeof appDatabase>['app'], from: number, count: number): void {
  const insert = app.prepare('INSERT INTO item (id, name, qty) VALUES (?, ?, ?)');
  app.transaction(() => {
    for (let i = from; i < from + count; i++) insert.run(i, `item ${i}`, i);
  })();
}

describe('relay to HTTP', () => {
  test('delivers every committed event in order and checkpoints after the ack', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    insertItems(app, 1, 25);
    const relay = await runRelay(testConfig({ database: file, sinks: [{ type: 'http', name: 'hook', url: receiver.url, mode: 'binary' }] }));
    await waitFor(() => receiver.delivered().length === 25, 20_000, '25 deliveries');
    insertItems(app, 26, 5);
    await waitFor(() => receiver.delivered().length === 30, 20_000, '30 deliveries');
    await waitFor(() => cursorOf(app, 'hook') === 30);
    await relay.stop();
    const ids = receiver.delivered().map((r) => Number(r.headers['ce-id']));
    expect(ids).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  test('faults (500, timeout, reset, 429) lose nothing and keep order', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    receiver.enqueue('error500', 'ok', 'reset', 'ok', 'retryAfter', 'error500', 'hang', 'ok');
    insertItems(app, 1, 10);
    const relay = await runRelay(
      testConfig({ database: file, sinks: [{ type: 'http', name: 'hook', url: receiver.url, timeoutMs: 300, retry: { minDelayMs: 10, maxDelayMs: 50 } }] }),
    );
    await waitFor(() => cursorOf(app, 'hook') === 10, 30_000, 'all acknowledged');
    await relay.stop();
    const delivered = receiver.delivered().map((r) => Number(r.headers['ce-id']));
    // Each event is acknowledged once (no batch redelivery within one run), in feed order.
    expect(delivered).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  test('a sink that is down holds back only its own consumer', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    receiver.setDefault('error500');
    const out = memoryStream();
    insertItems(app, 1, 20);
    const relay = await runRelay(
      testConfig({
        database: file,
        sinks: [
          { type: 'http', name: 'down', url: receiver.url, retry: { minDelayMs: 10, maxDelayMs: 20 } },
          { type: 'stdout', name: 'console' },
        ],
      }),
      out.stream,
    );
    await waitFor(() => cursorOf(app, 'console') === 20, 20_000, 'stdout consumer to finish');
    // The stdout consumer may finish before the failing sink's first attempt has come back.
    await waitFor(() => relay.consumers.find((c) => c.name === 'down')?.sink.health().ready === false, 20_000, 'the failing sink to report not ready');
    expect(cursorOf(app, 'down')).toBe(0);
    receiver.setDefault('ok');
    await waitFor(() => cursorOf(app, 'down') === 20, 20_000, 'recovered consumer');
    await relay.stop();
    expect(out.lines().map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
  });

  test('graceful stop under load leaves no redelivery', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    const config = testConfig({
      database: file,
      source: { batchSize: 7, pollIntervalMs: 2 },
      sinks: [{ type: 'http', name: 'hook', url: receiver.url, mode: 'batch' }],
    });
    let next = 1;
    const writer = setInterval(() => {
      insertItems(app, next, 10);
      next += 10;
    }, 5);
    const first = await runRelay(config);
    await waitFor(() => receiver.delivered().length > 5);
    await first.stop();
    clearInterval(writer);
    const second = await runRelay(config);
    await waitFor(() => cursorOf(app, 'hook') === next - 1, 20_000, 'drain after restart');
    await second.stop();
    const ids = receiver.delivered().flatMap((r) => (JSON.parse(r.body) as { id: string }[]).map((e) => Number(e.id)));
    expect(ids).toEqual(Array.from({ length: next - 1 }, (_, i) => i + 1));
  });
});
