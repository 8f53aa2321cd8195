import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { expect, test } from 'vitest';
import { exited, spawnNode } from '../support/child-process.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { pgApp } from '../support/postgres.ts';
import { waitFor } from '../support/relay.ts';
import { tempDir } from '../support/temp.ts';
import { eventually, feedRows, pgCursorOf, pgFeed, type PgFeedFixture } from './relay-support.ts';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const KILLS = 10;
const BATCH = 20;

/** App writes until stopped: row counters, so each row's committed values run 1, 2, 3, …; some commits land late. */
async function keepWriting(client: pg.Client, fixture: PgFeedFixture, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    const id = 1 + Math.floor(Math.random() * 12);
    await client.query('BEGIN');
    const { rows } = await client.query<{ v: number }>('INSERT INTO item (id, v) VALUES ($1, 1) ON CONFLICT (id) DO UPDATE SET v = item.v + 1 RETURNING v', [
      id,
    ]);
    await client.query(
      `INSERT INTO ${fixture.feed} (source, subject, type, data) VALUES ('item', $1, 'item.updated', jsonb_build_object('new', jsonb_build_object('id', $2::int, 'v', $3::int)))`,
      [String(id), id, rows[0]?.v],
    );
    if (Math.random() < 0.2) await sleep(Math.floor(Math.random() * 5));
    await client.query('COMMIT');
    await sleep(1);
  }
}

test(`kill -9 \`audite run postgres://…\` ${KILLS} times under concurrent writes: nothing lost, order kept, only the unacknowledged batch redelivered`, async () => {
  const fixture = await pgFeed();
  const receiver = await startReceiver();
  const dir = tempDir();
  const daemonArgs = (run: number): string[] => {
    const config = join(dir, `run-${run}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        database: fixture.url,
        source: { batchSize: BATCH, pollIntervalMs: 2 },
        log: { level: 'warn' },
        sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url, headers: { 'x-run': String(run) } }],
      }),
    );
    return [MAIN, 'run', '--config', config];
  };
  const stopWriting = new AbortController();
  const writers = await Promise.all([pgApp(fixture.url), pgApp(fixture.url)]);
  const writing = Promise.all(writers.map((client) => keepWriting(client, fixture, stopWriting.signal)));
  try {
    for (let run = 0; run < KILLS; run++) {
      const daemon = spawnNode(daemonArgs(run));
      try {
        await waitFor(() => receiver.requests.some((r) => r.headers['x-run'] === String(run)), 30_000, `run ${run} to deliver`);
        await sleep(Math.floor(Math.random() * 150));
      } finally {
        daemon.kill('SIGKILL');
        await exited(daemon);
      }
    }
  } finally {
    stopWriting.abort();
    await writing;
  }
  const feed = await feedRows(fixture);
  const head = feed.at(-1)?.id ?? 0;
  const final = spawnNode(daemonArgs(KILLS));
  try {
    await eventually(async () => (await pgCursorOf(fixture, 'hook')) === head, 60_000, 'final drain');
  } finally {
    final.kill('SIGTERM');
    await exited(final);
  }
  expect(final.exitCode).toBe(0);

  const requests = receiver
    .delivered()
    .map((r) => ({ run: Number(r.headers['x-run']), events: JSON.parse(r.body) as { id: string; subject: string; data: { new: { v: number } } }[] }));
  const arrivals = requests.flatMap((r) => r.events.map((e) => ({ id: Number(e.id), subject: e.subject, v: e.data.new.v })));

  // 1. Every committed event arrived at least once.
  const seen = new Set(arrivals.map((e) => e.id));
  expect(feed.filter((e) => !seen.has(e.id)).map((e) => e.id)).toEqual([]);
  // 2. First deliveries come in feed order, so each row's changes in commit order.
  const firsts: typeof arrivals = [];
  const counted = new Set<number>();
  for (const e of arrivals) {
    if (counted.has(e.id)) continue;
    counted.add(e.id);
    firsts.push(e);
  }
  expect(firsts.map((e) => e.id)).toEqual(feed.map((e) => e.id));
  for (const subject of new Set(feed.map((e) => e.subject))) {
    const values = firsts.filter((e) => e.subject === subject).map((e) => e.v);
    expect(values, `row ${subject}`).toEqual(values.map((_, i) => i + 1));
  }
  // 3. A redelivery happens only in the first request of a run, and only of ids the previous run sent last.
  const ids = requests.map((r) => ({ run: r.run, ids: r.events.map((e) => Number(e.id)) }));
  for (const [i, request] of ids.entries()) {
    const before = new Set(ids.slice(0, i).flatMap((r) => r.ids));
    const repeated = request.ids.filter((id) => before.has(id));
    if (repeated.length === 0) continue;
    const previous = ids.slice(0, i);
    expect(previous.at(-1)?.run, 'redelivery only right after a restart').toBeLessThan(request.run);
    const lastOfPreviousRun = previous.filter((r) => r.run === previous.at(-1)?.run).at(-1)?.ids ?? [];
    expect(repeated.every((id) => lastOfPreviousRun.includes(id))).toBe(true);
  }
  expect(new Set(requests.filter((r) => r.run < KILLS).map((r) => r.run)).size).toBe(KILLS);
  console.log(`pg crash test: ${feed.length} events, ${requests.length} requests, ${arrivals.length - feed.length} redelivered`);
}, 180_000);
