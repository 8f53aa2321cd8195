import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { configSchema } from '../../src/config/config-schema.ts';
import { openFeedBackend } from '../../src/source/open-backend.ts';
import { runCli } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { pgApp } from '../support/postgres.ts';
import { memoryStream, runRelay, testConfig, waitFor } from '../support/relay.ts';
import { change, eventually, parseLines, pgCursorOf, pgFeed, transaction } from './relay-support.ts';

const rows = (from: number, count: number): [number, number][] => Array.from({ length: count }, (_, i) => [from + i, 1]);

test('a restart continues after the last acknowledged id; the cursor never moves backwards on commit; reset moves it anywhere and clears a halt', async () => {
  const fixture = await pgFeed();
  await transaction(fixture.app, fixture.feed, rows(1, 5));
  const config = testConfig({ database: fixture.url, sinks: [{ type: 'stdout', name: 'out' }] });
  const first = memoryStream();
  let relay = await runRelay(config, first.stream);
  try {
    await waitFor(() => first.lines().length === 5, 20_000, 'the first run');
    await eventually(async () => (await pgCursorOf(fixture, 'out')) === 5);
  } finally {
    await relay.stop();
  }
  await transaction(fixture.app, fixture.feed, rows(6, 3));
  const second = memoryStream();
  relay = await runRelay(config, second.stream);
  try {
    await waitFor(() => second.lines().length === 3, 20_000, 'the second run');
    expect(parseLines(second.lines()).map((e) => e.id)).toEqual([6, 7, 8]);
  } finally {
    await relay.stop();
  }

  const backend = await openFeedBackend(configSchema.parse({ database: fixture.url }));
  try {
    await backend.checkpoints.commit('out', 3);
    expect((await backend.checkpoints.load('out', 'beginning')).position).toBe(8);
    await backend.checkpoints.markFailed('out', 'event 8: refused', true);
    expect(await backend.checkpoints.load('out', 'beginning')).toEqual({ position: 8, halted: true, lastError: 'event 8: refused' });
    await backend.checkpoints.reset('out', 2);
    expect(await backend.checkpoints.load('out', 'beginning')).toEqual({ position: 2, halted: false, lastError: null });
    await backend.checkpoints.commit('out', 4);
    expect((await backend.checkpoints.load('out', 'beginning')).position).toBe(4);
  } finally {
    await backend.close();
  }
});

test('audite cursor reset on a postgres:// URL: to an id, to the end, refused past the head', async () => {
  const fixture = await pgFeed();
  await transaction(fixture.app, fixture.feed, rows(1, 4));
  const moved = await runCli(['cursor', 'reset', fixture.url, 'hook', '--to', '2']);
  expect(moved).toMatchObject({ code: 0, stdout: 'consumer hook now at position 2 (head 4)\n' });
  expect(await pgCursorOf(fixture, 'hook')).toBe(2);
  expect((await runCli(['cursor', 'reset', fixture.url, 'hook', '--to', 'end'])).code).toBe(0);
  expect(await pgCursorOf(fixture, 'hook')).toBe(4);
  const refused = await runCli(['cursor', 'reset', fixture.url, 'hook', '--to', '9']);
  expect(refused.code).toBe(64);
  expect(refused.stderr).toMatch(/^audite: --to takes start, end or an event id between 0 and 4, got "9"\n$/);
});

test('a new consumer starting from the end still gets the events of a transaction in flight when it registered', async () => {
  const fixture = await pgFeed();
  await transaction(fixture.app, fixture.feed, rows(1, 3));
  const held = await pgApp(fixture.url);
  await held.query('BEGIN');
  await change(held, fixture.feed, 10, 1);
  const out = memoryStream();
  const relay = await runRelay(testConfig({ database: fixture.url, source: { startFrom: 'end' }, sinks: [{ type: 'stdout', name: 'late' }] }), out.stream);
  try {
    // Registration waits for the transaction in flight to end; meanwhile its cursor row sits
    // at the lowest checkpoint (none here: 0), below that transaction's ids, so retention cannot delete them.
    await sleep(300);
    expect(await pgCursorOf(fixture, 'late')).toBe(0);
    await held.query('COMMIT');
    await transaction(fixture.app, fixture.feed, [[11, 1]]);
    await waitFor(() => out.lines().length === 2, 20_000, 'the events committed after registration');
    expect(parseLines(out.lines()).map((e) => e.subject)).toEqual(['10', '11']);
    // The cursor moves just after the sink's write returns: poll for it rather than race it.
    let cursor = await pgCursorOf(fixture, 'late');
    for (let i = 0; i < 200 && cursor !== 5; i++) {
      await sleep(25);
      cursor = await pgCursorOf(fixture, 'late');
    }
    expect(cursor).toBe(5);
  } finally {
    await relay.stop();
  }
});

test('two consumers are independent: a sink that is down holds back only its own consumer, which catches up once it returns', async () => {
  const fixture = await pgFeed();
  const up = await startReceiver();
  const down = await startReceiver();
  down.setDefault('error500');
  const retry = { minDelayMs: 5, maxDelayMs: 20 };
  const relay = await runRelay(
    testConfig({
      database: fixture.url,
      sinks: [
        { type: 'http', name: 'up', mode: 'batch', url: up.url, retry },
        { type: 'http', name: 'down', mode: 'batch', url: down.url, retry },
      ],
    }),
  );
  try {
    for (let i = 0; i < 10; i++) await transaction(fixture.app, fixture.feed, [[i + 1, 1]]);
    await eventually(async () => (await pgCursorOf(fixture, 'up')) === 10, 20_000, 'the healthy consumer');
    await down.waitForRequests(3);
    expect(await pgCursorOf(fixture, 'down')).toBe(0);
    down.setDefault('ok');
    await eventually(async () => (await pgCursorOf(fixture, 'down')) === 10, 20_000, 'the other consumer to catch up');
    const ids = down.delivered().flatMap((r) => (JSON.parse(r.body) as { id: string }[]).map((e) => Number(e.id)));
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  } finally {
    await relay.stop();
  }
});
