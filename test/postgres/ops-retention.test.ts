import { expect, test } from 'vitest';
import { configSchema } from '../../src/config/config-schema.ts';
import { openFeedInspector } from '../../src/source/open-backend.ts';
import { runCli } from '../support/cli.ts';
import { runRelay, testConfig } from '../support/relay.ts';
import { eventually, feedRows, pgFeed, transaction, type PgFeedFixture } from './relay-support.ts';

async function tenEvents(fixture: PgFeedFixture, oldUpTo: number): Promise<void> {
  for (let i = 1; i <= 10; i++) await transaction(fixture.app, fixture.feed, [[i, 1]]);
  await fixture.app.query(`UPDATE ${fixture.feed} SET time = now() - interval '2 days' WHERE id <= $1`, [oldUpTo]);
}

const cursorAt = (fixture: PgFeedFixture, consumer: string, position: number): Promise<unknown> =>
  fixture.app.query(`INSERT INTO ${fixture.cursor} (consumer, position) VALUES ($1, $2)`, [consumer, position]);

test('pruning on PostgreSQL: only old events every consumer acknowledged, in batches; a dry run deletes nothing; laggards are named', async () => {
  const fixture = await pgFeed();
  await tenEvents(fixture, 8);
  await cursorAt(fixture, 'fast', 9);
  await cursorAt(fixture, 'slow', 6);
  const inspector = await openFeedInspector(configSchema.parse({ database: fixture.url }));
  try {
    const dry = await inspector.prune?.({ keepSeconds: 86_400, batchSize: 4, dryRun: true });
    expect(dry).toMatchObject({ pruned: 6, upTo: 6, dryRun: true });
    expect((await feedRows(fixture)).length).toBe(10);
    const result = await inspector.prune?.({ keepSeconds: 86_400, batchSize: 4, pauseMs: 0 });
    expect(result).toMatchObject({ pruned: 6, upTo: 6, batches: 2, dryRun: false });
    // slow has not acknowledged 7 and 8, which are older than the window.
    expect(result?.blockers).toEqual([{ consumer: 'slow', position: 6, halted: false, oldestPendingTime: expect.any(Number) }]);
    expect((await feedRows(fixture)).map((r) => r.id)).toEqual([7, 8, 9, 10]);
    expect(await inspector.feed()).toMatchObject({ headId: 10, oldestId: 7 });
  } finally {
    await inspector.close();
  }
});

test('pruning never deletes the newest event nor a young one, and with no consumer the age rule alone applies', async () => {
  const fixture = await pgFeed();
  await tenEvents(fixture, 10);
  const inspector = await openFeedInspector(configSchema.parse({ database: fixture.url }));
  try {
    expect(await inspector.prune?.({ keepSeconds: 86_400, pauseMs: 0 })).toMatchObject({ pruned: 9, upTo: 9, blockers: [] });
    expect((await feedRows(fixture)).map((r) => r.id)).toEqual([10]);
    for (let i = 11; i <= 13; i++) await transaction(fixture.app, fixture.feed, [[i, 1]]);
    expect(await inspector.prune?.({ keepSeconds: 86_400, pauseMs: 0 })).toMatchObject({ pruned: 1, upTo: 10 });
    expect(await inspector.prune?.({ keepSeconds: 86_400, pauseMs: 0 })).toMatchObject({ pruned: 0, upTo: null });
  } finally {
    await inspector.close();
  }
});

test('audite prune postgres://… and the daemon’s retention', async () => {
  const fixture = await pgFeed();
  await tenEvents(fixture, 10);
  await cursorAt(fixture, 'other', 3);
  const dry = await runCli(['prune', fixture.url, '--older-than', '1d', '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('dry run: would prune 3 event(s) (ids up to 3) older than 1d');
  const relay = await runRelay(testConfig({ database: fixture.url, retention: { keep: '1d', intervalMs: 50 }, sinks: [{ type: 'stdout', name: 'out' }] }));
  try {
    await fixture.app.query(`UPDATE ${fixture.cursor} SET position = 10 WHERE consumer = 'other'`);
    await eventually(async () => (await feedRows(fixture)).length === 1, 20_000, 'retention to prune all but the newest');
    expect((await feedRows(fixture)).map((r) => r.id)).toEqual([10]);
  } finally {
    await relay.stop();
  }
});
