import { describe, expect, test } from 'vitest';
import { prune, retentionBlockers } from '../../src/ops/retention.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { runCli } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, waitFor } from '../support/relay.ts';
import { memoryLogger, runRelayLogged, scrape, valueOf } from './support.ts';

type App = ReturnType<typeof appDatabase>['app'];
const asDb = (app: App): SqliteDatabase => app as unknown as SqliteDatabase;
const NOW = 2_000_000_000;

/** n new events, stamped `secondsAgo` before NOW (a fixed clock the tests pass to prune). */
function writeEvents(app: App, n: number, secondsAgo: number | 'now'): void {
  const insert = app.prepare('INSERT INTO item (name, qty) VALUES (?, ?)');
  const before = app.prepare('SELECT coalesce(max(id), 0) FROM audite_changefeed').pluck().get() as number;
  app.transaction(() => {
    for (let i = 0; i < n; i++) insert.run(`n${i}`, i);
  })();
  if (secondsAgo !== 'now') app.prepare('UPDATE audite_changefeed SET time = ? WHERE id > ?').run(NOW - secondsAgo, before);
}

function setCursor(app: App, consumer: string, position: number, halted = 0): void {
  app.prepare('INSERT OR REPLACE INTO audite_cursor (consumer, position, updated_at) VALUES (?, ?, 0)').run(consumer, position);
  if (halted) app.prepare('UPDATE audite_cursor SET halted = 1 WHERE consumer = ?').run(consumer);
}

const ids = (app: App): number[] => app.prepare('SELECT id FROM audite_changefeed ORDER BY id').pluck().all() as number[];

describe('prune', () => {
  test('deletes only what every consumer acknowledged and what is older than the window, in batches, keeping the newest event', async () => {
    const { app } = appDatabase();
    // Events 1–30 are ten days old, 31–40 one hour old.
    writeEvents(app, 30, 10 * 86_400);
    writeEvents(app, 10, 3600);
    setCursor(app, 'a', 40);
    setCursor(app, 'b', 25);

    const dry = await prune(asDb(app), { keepSeconds: 86_400, batchSize: 7, dryRun: true, now: () => NOW });
    expect(dry).toMatchObject({ pruned: 25, upTo: 25, dryRun: true });
    expect(ids(app)).toHaveLength(40);

    const result = await prune(asDb(app), { keepSeconds: 86_400, batchSize: 7, pauseMs: 0, now: () => NOW });
    // 25 events in batches of at most 7: 7, 7, 7, 4.
    expect(result).toMatchObject({ pruned: 25, upTo: 25, batches: 4, dryRun: false });
    expect(ids(app)[0]).toBe(26);
    // b holds back 26–30, which are older than the window.
    expect(result.blockers).toEqual([{ consumer: 'b', position: 25, halted: false, oldestPendingTime: NOW - 10 * 86_400 }]);

    setCursor(app, 'b', 40);
    expect(await prune(asDb(app), { keepSeconds: 0, pauseMs: 0, now: () => NOW })).toMatchObject({ pruned: 14, upTo: 39, blockers: [] });
    // Every event acknowledged and old, yet the newest stays: the next id stays above every checkpoint.
    expect(ids(app)).toEqual([40]);
    expect(() => app.prepare('DELETE FROM audite_changefeed WHERE id = 40').run()).toThrow(/newest change-feed event is kept/);
    writeEvents(app, 1, 0);
    expect(ids(app)).toEqual([40, 41]);
  });

  test('no consumers: the age rule alone; a halted consumer blocks and is named', async () => {
    const { app } = appDatabase();
    app.exec('ALTER TABLE audite_cursor ADD COLUMN halted INTEGER NOT NULL DEFAULT 0');
    writeEvents(app, 5, 100);
    expect(await prune(asDb(app), { keepSeconds: 50, now: () => NOW })).toMatchObject({ pruned: 4, upTo: 4 });
    writeEvents(app, 5, 100);
    setCursor(app, 'stuck', 6, 1);
    // 5 (left as the newest before) and 6 were acknowledged; 7–10 wait for the halted consumer.
    expect(await prune(asDb(app), { keepSeconds: 50, now: () => NOW })).toMatchObject({
      pruned: 2,
      upTo: 6,
      blockers: [{ consumer: 'stuck', position: 6, halted: true }],
    });
    expect(retentionBlockers(asDb(app), 50, () => NOW).map((b) => b.consumer)).toEqual(['stuck']);
    expect(retentionBlockers(asDb(app), 500, () => NOW)).toEqual([]);
  });

  test('a cursor moved backwards between batches is honoured', async () => {
    const { app } = appDatabase();
    writeEvents(app, 20, 100);
    setCursor(app, 'a', 20);
    const controller = new AbortController();
    const first = await prune(asDb(app), { keepSeconds: 0, batchSize: 5, pauseMs: 0, now: () => NOW, signal: controller.signal });
    expect(first.upTo).toBe(19);
    writeEvents(app, 20, 100);
    setCursor(app, 'a', 30);
    const running = prune(asDb(app), { keepSeconds: 0, batchSize: 5, pauseMs: 20, now: () => NOW });
    // The first batch (20–24) ran; during the pause after it, an operator moves the cursor back to 22.
    setCursor(app, 'a', 22);
    expect(await running).toMatchObject({ pruned: 5, upTo: 24 });
    expect(ids(app)[0]).toBe(25);
  });
});

describe('audite prune', () => {
  test('--dry-run, then prune; forever refuses; bad windows are usage errors', async () => {
    const { file, app } = appDatabase();
    writeEvents(app, 10, 'now');
    app.prepare('UPDATE audite_changefeed SET time = time - 86400 * 30').run();
    setCursor(app, 'hook', 10);

    const dry = await runCli(['prune', file, '--older-than', '7d', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: would prune 9 event(s) (ids up to 9) older than 7d');
    expect(ids(app)).toHaveLength(10);

    const real = await runCli(['prune', file, '--older-than', '7d']);
    expect(real.code).toBe(0);
    expect(real.stdout).toContain('pruned 9 event(s) (ids up to 9) older than 7d');
    expect(real.stdout).toContain('feed: ids 10–10');
    expect(ids(app)).toEqual([10]);

    const forever = await runCli(['prune', file]);
    expect(forever.code).toBe(64);
    expect(forever.stderr).toMatch(/retention is "forever"/);
    const bad = await runCli(['prune', file, '--older-than', 'a week']);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/retention.keep: forever, or a duration/);
  });
});

describe('retention in the daemon', () => {
  test('prunes periodically while relaying; a halted consumer blocks it: logged and in the metrics', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    const logger = memoryLogger();
    const config = {
      database: file,
      ops: { port: 0 },
      retention: { keep: '0s', intervalMs: 20, pauseMs: 0 },
      sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url }],
    };
    const relay = await runRelayLogged(config, logger);
    try {
      writeEvents(app, 50, 'now');
      await waitFor(() => cursorOf(app, 'hook') === 50, 20_000, 'delivery');
      await waitFor(() => ids(app).length === 1, 20_000, 'pruning down to the newest event');
      expect(ids(app)).toEqual([50]);
      expect(valueOf(await scrape(relay), 'audite_retention_pruned_events_total')).toBe(49);
    } finally {
      await relay.stop();
    }

    receiver.setDefault('badRequest');
    const halting = await runRelayLogged({ ...config, sinks: [{ type: 'http', name: 'hook', url: receiver.url, onPermanentFailure: 'halt' }] }, logger);
    try {
      writeEvents(app, 5, 'now');
      await waitFor(() => logger.lines.some((l) => l.msg.startsWith('retention blocked by consumer hook')), 20_000, 'the blocked warning');
      expect(logger.lines.some((l) => l.level === 'warn' && l.msg.startsWith('consumer hook is halted'))).toBe(true);
      const samples = await scrape(halting);
      expect(valueOf(samples, 'audite_retention_blocked', { consumer: 'hook' })).toBe(1);
      expect(valueOf(samples, 'audite_consumer_halted', { consumer: 'hook' })).toBe(1);
      // 50 was acknowledged before the halt; 51–55 wait for the halted consumer.
      expect(ids(app)).toEqual([51, 52, 53, 54, 55]);
    } finally {
      await halting.stop();
    }
  });
});
