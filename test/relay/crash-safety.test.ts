import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import { exited, spawnNode } from '../support/child-process.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, waitFor } from '../support/relay.ts';
import { tempDir } from '../support/temp.ts';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const WRITER = join(REPO_ROOT, 'test', 'support', 'writer-process.ts');
const KILLS = 20;
const BATCH = 20;

test(`kill -9 the daemon ${KILLS} times under writes from another process: nothing lost, order kept, only the unacknowledged batch redelivered`, async () => {
  const { file, app } = appDatabase(
    'CREATE TABLE account (id INTEGER PRIMARY KEY, v); CREATE TABLE invoice (id INTEGER PRIMARY KEY, v); CREATE TABLE note (id INTEGER PRIMARY KEY, v);',
  );
  const receiver = await startReceiver();
  const dir = tempDir();
  const writer = spawnNode([WRITER, file, '1']);
  const daemonArgs = (run: number): string[] => {
    const config = join(dir, `run-${run}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        database: file,
        source: { batchSize: BATCH, pollIntervalMs: 2 },
        log: { level: 'warn' },
        sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url, headers: { 'x-run': String(run) } }],
      }),
    );
    return [MAIN, 'run', '--config', config];
  };
  try {
    for (let run = 0; run < KILLS; run++) {
      const daemon = spawnNode(daemonArgs(run));
      try {
        // Kill mid-stream: once this run has delivered something, at a random moment after.
        await waitFor(() => receiver.requests.some((r) => r.headers['x-run'] === String(run)), 30_000, `run ${run} to deliver`);
        await sleep(Math.floor(Math.random() * 150));
      } finally {
        // Also when the wait fails: a daemon must never outlive its test.
        daemon.kill('SIGKILL');
        await exited(daemon);
      }
    }
  } finally {
    writer.kill('SIGTERM');
    await exited(writer);
  }
  // A last, clean run drains the rest.
  const head = app.prepare('SELECT max(id) FROM audite_changefeed').pluck().get() as number;
  const final = spawnNode(daemonArgs(KILLS));
  try {
    await waitFor(() => cursorOf(app, 'hook') === head, 60_000, 'final drain');
  } finally {
    final.kill('SIGTERM');
    await exited(final);
  }
  expect(final.exitCode).toBe(0);

  const feed = app.prepare('SELECT id, source, subject FROM audite_changefeed ORDER BY id').all() as { id: number; source: string; subject: string }[];
  const requests = receiver
    .delivered()
    .map((r) => ({ run: Number(r.headers['x-run']), ids: (JSON.parse(r.body) as { id: string }[]).map((e) => Number(e.id)) }));
  const arrivals = requests.flatMap((r) => r.ids);

  // 1. Every event reached the receiver at least once.
  const seen = new Set(arrivals);
  expect(feed.filter((e) => !seen.has(e.id)).map((e) => e.id)).toEqual([]);

  // 2. First deliveries come in feed order, hence each subject's events in order.
  const firsts: number[] = [];
  const counted = new Set<number>();
  for (const id of arrivals) {
    if (counted.has(id)) continue;
    counted.add(id);
    firsts.push(id);
  }
  expect(firsts).toEqual(feed.map((e) => e.id));

  // 3. A redelivery only happens in the first request of a run, and only of ids the previous run sent last.
  for (const [i, request] of requests.entries()) {
    const before = new Set(requests.slice(0, i).flatMap((r) => r.ids));
    const repeated = request.ids.filter((id) => before.has(id));
    if (repeated.length === 0) continue;
    const previous = requests.slice(0, i);
    expect(previous.at(-1)?.run, 'redelivery only right after a restart').toBeLessThan(request.run);
    const lastOfPreviousRun = previous.filter((r) => r.run === previous.at(-1)?.run).at(-1)?.ids ?? [];
    expect(
      repeated.every((id) => lastOfPreviousRun.includes(id)),
      `run ${request.run} redelivered only the unacknowledged batch`,
    ).toBe(true);
  }
  expect(feed.length).toBeGreaterThan(100);
  // The kills must land mid-stream, not before a run delivered anything.
  const runsThatDelivered = new Set(requests.filter((r) => r.run < KILLS).map((r) => r.run));
  expect(runsThatDelivered.size).toBe(KILLS);
  console.log(
    `crash test: ${feed.length} events, ${requests.length} requests, ${arrivals.length - feed.length} redelivered, ${runsThatDelivered.size} killed runs delivered`,
  );
}, 180_000);
