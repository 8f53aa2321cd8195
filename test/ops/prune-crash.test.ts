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
const WRITER = join(REPO_ROOT, 'test', 'ops', 'fixtures', 'sequence-writer.ts');
const KILLS = 20;

interface Delivered {
  id: number;
  type: string;
  body: string;
  n: number | undefined;
}

test(`pruning runs in the daemon while the app writes and the daemon is killed -9 ${KILLS} times: nothing lost, no id reused`, async () => {
  const { file, app } = appDatabase('CREATE TABLE entry (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, touched INTEGER NOT NULL)');
  const receiver = await startReceiver();
  const dir = tempDir();
  const writer = spawnNode([WRITER, file, '1']);
  const oldest = (): number => (app.prepare('SELECT coalesce(min(id), 0) FROM audite_changefeed').pluck().get() as number) ?? 0;
  const daemonArgs = (run: number): string[] => {
    const config = join(dir, `run-${run}.json`);
    writeFileSync(
      config,
      JSON.stringify({
        database: file,
        source: { batchSize: 20, pollIntervalMs: 2 },
        log: { level: 'warn' },
        // Prune everything acknowledged (once a second old), often, in tiny transactions: kills land mid-prune.
        retention: { keep: '0s', intervalMs: 10, batchSize: 5, pauseMs: 1 },
        sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url, headers: { 'x-run': String(run) } }],
      }),
    );
    return [MAIN, 'run', '--config', config];
  };
  let prunedDuringKills = false;
  try {
    for (let run = 0; run < KILLS; run++) {
      const daemon = spawnNode(daemonArgs(run));
      await waitFor(() => receiver.requests.some((r) => r.headers['x-run'] === String(run)), 30_000, `run ${run} to deliver`);
      await sleep(100 + Math.floor(Math.random() * 200));
      daemon.kill('SIGKILL');
      await exited(daemon);
      prunedDuringKills ||= oldest() > 1;
    }
  } finally {
    writer.kill('SIGTERM');
    await exited(writer);
  }
  const head = app.prepare('SELECT max(id) FROM audite_changefeed').pluck().get() as number;
  const final = spawnNode(daemonArgs(KILLS));
  await waitFor(() => cursorOf(app, 'hook') === head, 60_000, 'final drain');
  // Let retention catch up too: everything but the newest event goes once a second old.
  await waitFor(() => oldest() === head, 30_000, 'final prune');
  final.kill('SIGTERM');
  await exited(final);
  expect(final.exitCode).toBe(0);
  expect(prunedDuringKills, 'pruning ran while the daemon was being killed').toBe(true);

  const deliveries: Delivered[] = receiver.delivered().flatMap((r) =>
    (JSON.parse(r.body) as { id: string; type: string; data: { new?: { n: number } } }[]).map((e) => ({
      id: Number(e.id),
      type: e.type,
      body: JSON.stringify(e),
      n: e.data.new?.n,
    })),
  );
  // No id reused: every delivery of an id is the very same event.
  const byId = new Map<number, string>();
  for (const d of deliveries) {
    const seen = byId.get(d.id);
    if (seen !== undefined) expect(d.body, `id ${d.id} delivered as two different events`).toBe(seen);
    byId.set(d.id, d.body);
  }
  // Nothing lost: ids 1..head all delivered (the feed has no gaps: pruning only ever removes acknowledged ids)…
  const missing = Array.from({ length: head }, (_, i) => i + 1).filter((id) => !byId.has(id));
  expect(missing).toEqual([]);
  // …and each of the app's inserts arrived as its created event.
  const written = app.prepare('SELECT count(*) FROM entry').pluck().get() as number;
  const created = new Set(deliveries.filter((d) => d.type === 'entry.created').map((d) => d.n));
  expect(created.size).toBe(written);
  for (let n = 0; n < written; n++) if (!created.has(n)) expect.fail(`entry ${n} was never delivered`);
  // First deliveries in feed order.
  const firsts: number[] = [];
  const counted = new Set<number>();
  for (const d of deliveries) {
    if (counted.has(d.id)) continue;
    counted.add(d.id);
    firsts.push(d.id);
  }
  expect(firsts).toEqual(Array.from({ length: head }, (_, i) => i + 1));
  // The feed now holds only the newest event; the next write gets the next id.
  expect(app.prepare('SELECT id FROM audite_changefeed').pluck().all()).toEqual([head]);
  app.prepare('INSERT INTO entry (n, touched) VALUES (-1, 0)').run();
  expect(app.prepare('SELECT max(id) FROM audite_changefeed').pluck().get()).toBe(head + 1);
  console.log(`prune crash test: ${head} events, ${written} entries, ${deliveries.length - head} redelivered`);
}, 240_000);
