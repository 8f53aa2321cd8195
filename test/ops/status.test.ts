import { expect, test } from 'vitest';
import { snapshot } from '../../src/capture/snapshot.ts';
import type { Status } from '../../src/ops/status.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { runCli } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, runRelay, testConfig, waitFor } from '../support/relay.ts';

test('audite status: per consumer position, lag, last delivery, last error, halted, dead letters; feed, stale triggers, snapshot; --json', async () => {
  const { file, app } = appDatabase();
  const ok = await startReceiver();
  const refusing = await startReceiver();
  refusing.setDefault('badRequest');
  app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2)").run();
  const relay = await runRelay(
    testConfig({
      database: file,
      sinks: [
        { type: 'http', name: 'good', url: ok.url },
        { type: 'http', name: 'strict', url: refusing.url, onPermanentFailure: 'halt' },
        { type: 'http', name: 'lenient', url: refusing.url, onPermanentFailure: 'dead-letter' },
      ],
    }),
  );
  try {
    await waitFor(() => cursorOf(app, 'good') === 2 && cursorOf(app, 'lenient') === 2, 20_000, 'delivery');
    await waitFor(() => relay.consumers.find((c) => c.name === 'strict')?.outcome === 'halted', 20_000, 'the halt');
  } finally {
    await relay.stop();
  }
  app.prepare("INSERT INTO item (name, qty) VALUES ('c', 3)").run();
  app.prepare('UPDATE audite_changefeed SET time = time - 60 WHERE id = 3').run();
  app.exec('ALTER TABLE item ADD COLUMN extra TEXT');
  app.exec("UPDATE audite_cursor SET position = 2 WHERE consumer = 'lenient'");
  // A snapshot left unfinished, as a crash or Ctrl-C leaves it.
  const stop = new AbortController();
  stop.abort();
  await snapshot(app as unknown as SqliteDatabase, { signal: stop.signal }).catch(() => undefined);

  const json = await runCli(['status', file, '--json']);
  expect(json.code).toBe(0);
  const status = JSON.parse(json.stdout) as Status;
  expect(status.stale).toEqual(['item']);
  expect(status.feed).toMatchObject({ events: 3, headId: 3, oldestId: 1 });
  const byName = Object.fromEntries(status.consumers.map((c) => [c.consumer, c]));
  expect(byName.good).toMatchObject({ position: 2, lag: 1, halted: false, lastError: null, deadLetters: 0, lastDeliveryAt: expect.stringMatching(/^\d{4}-/) });
  expect(byName.good?.lagSeconds).toBeGreaterThanOrEqual(60);
  expect(byName.strict).toMatchObject({ position: 0, lag: 3, halted: true, lastDeliveryAt: null, lastError: expect.stringMatching(/^event 1: .*HTTP 400/) });
  expect(byName.lenient).toMatchObject({ position: 2, lag: 1, halted: false, deadLetters: 2 });
  expect(status.snapshot).toBeNull();

  const text = await runCli(['status', file]);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^stale: +item +→ run `audite enable /m);
  expect(text.stdout).toMatch(/^feed: +3 event\(s\), head id 3, oldest id 1,/m);
  expect(text.stdout).toMatch(/^consumer: +good +position 2 +lag 1 event\(s\), \d+ s +last delivery \d{4}-\S+ +dead letters 0$/m);
  expect(text.stdout).toMatch(/^consumer: +strict +position 0 +lag 3 event\(s\), \d+ s +last delivery - +dead letters 0 +HALTED$/m);
  expect(text.stdout).toMatch(/^ +last error: event 1: .*HTTP 400/m);
  expect(text.stdout).toMatch(/^consumer: +lenient .* dead letters 2$/m);
});

test('audite status shows an unfinished snapshot', async () => {
  const { file, app } = appDatabase();
  app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3)").run();
  let calls = 0;
  const stop = new AbortController();
  await snapshot(app as unknown as SqliteDatabase, { chunkSize: 1, pauseMs: 0, signal: stop.signal, onProgress: () => ++calls === 2 && stop.abort() });
  const status = JSON.parse((await runCli(['status', file, '--json'])).stdout) as Status;
  expect(status.snapshot).toMatchObject({ tables: ['item'], rows: 2, finishedAt: null });
  expect((await runCli(['status', file])).stdout).toMatch(/^snapshot: +2 row\(s\) of item, started \S+, unfinished \(run `audite snapshot .*` to resume\)$/m);
});
