import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { configSchema } from '../../src/config/config-schema.ts';
import { openFeedBackend } from '../../src/source/open-backend.ts';
import { VisibilityHorizon } from '../../src/source/postgres/visibility-horizon.ts';
import { pgApp } from '../support/postgres.ts';
import { memoryStream, runRelay, testConfig, waitFor } from '../support/relay.ts';
import { change, eventually, feedRows, parseLines, pgFeed, transaction } from './relay-support.ts';

describe('PostgreSQL source: reading committed events without losing any', () => {
  for (const outcome of ['COMMIT', 'ROLLBACK'] as const) {
    test(`a transaction holding small ids open while many later ones commit: nothing delivered past it, then (${outcome}) everything, once, in per-row order`, async () => {
      const fixture = await pgFeed();
      const { app, feed } = fixture;
      const out = memoryStream();
      const relay = await runRelay(testConfig({ database: fixture.url, source: { pollIntervalMs: 2, batchSize: 7 } }), out.stream);
      try {
        await transaction(app, feed, [
          [1, 1],
          [2, 1],
          [3, 1],
        ]);
        await waitFor(() => out.lines().length === 3, 20_000, 'the first events');

        // The held transaction draws ids 4 and 5, then stays open.
        const held = await pgApp(fixture.url);
        await held.query('BEGIN');
        await change(held, feed, 1, 100);
        await change(held, feed, 2, 100);
        // A writer of row 1 waits for the held transaction's row lock, so its id comes later.
        const rowOneWriter = await pgApp(fixture.url);
        const waitingWrite = transaction(rowOneWriter, feed, [[1, 200]]);
        // Many later transactions commit meanwhile, some touching the same rows among themselves.
        const other = await pgApp(fixture.url);
        for (let i = 0; i < 60; i++) await transaction(other, feed, [[3 + (i % 5), i + 10]]);
        const committedLater = (await feedRows(fixture)).length;
        expect(committedLater).toBe(63);
        await sleep(300);
        expect(
          parseLines(out.lines()).map((e) => e.id),
          'nothing past the held transaction',
        ).toEqual([1, 2, 3]);

        await held.query(outcome);
        await waitingWrite;
        const rows = await feedRows(fixture);
        expect(rows.length).toBe(outcome === 'COMMIT' ? 66 : 64);
        await waitFor(() => out.lines().length >= rows.length, 20_000, 'every committed event');
        await sleep(100);
        const delivered = parseLines(out.lines());
        // None lost, none duplicated, in id order.
        expect(delivered.map((e) => e.id)).toEqual(rows.map((r) => r.id));
        // Per-row order: row 1's changes arrive in commit order.
        const rowOne = delivered.filter((e) => e.subject === '1').map((e) => e.v);
        expect(rowOne).toEqual(outcome === 'COMMIT' ? [1, 100, 200] : [1, 200]);
        for (let subject = 3; subject < 8; subject++) {
          const values = delivered.filter((e) => e.subject === String(subject)).map((e) => e.v);
          expect(values, `row ${subject} in commit order`).toEqual([...values].sort((a, b) => a - b));
        }
      } finally {
        await relay.stop();
      }
    });
  }

  test('writers whose xids are newer than every completed one (at or above the snapshot xmax) still hold the bound back', async () => {
    const fixture = await pgFeed();
    const { app, feed } = fixture;
    const backend = await openFeedBackend(configSchema.parse({ database: fixture.url, source: { pollIntervalMs: 1 } }));
    const held = await pgApp(fixture.url);
    const later = await pgApp(fixture.url);
    try {
      const source = backend.openSource();
      let position = await source.head();
      for (let round = 0; round < 40; round++) {
        // Two writers draw ids and stay open; right after, typically nothing newer has completed,
        // so both xids are >= the snapshot's xmax and absent from its xmin.
        await held.query('BEGIN');
        await change(held, feed, 1, round);
        const heldId = Number((await held.query<{ id: string }>(`SELECT max(id) AS id FROM ${feed}`)).rows[0]?.id);
        await later.query('BEGIN');
        await change(later, feed, 2, round);
        // The later writer commits first: its id must wait for the held one.
        for (let poll = 0; poll < 4; poll++) {
          if (poll === 1) await later.query('COMMIT');
          const events = await source.read(position, 100);
          expect(
            events.map((e) => e.id).filter((id) => id >= heldId),
            `round ${round}: nothing at or past the held id ${heldId}`,
          ).toEqual([]);
          position = events.at(-1)?.id ?? position;
        }
        await held.query(round % 2 === 0 ? 'COMMIT' : 'ROLLBACK');
      }
      await transaction(app, feed, [[3, 1]]);
      const head = Number((await app.query<{ id: string }>(`SELECT max(id) AS id FROM ${feed}`)).rows[0]?.id);
      await eventually(async () => (await source.head()) >= head, 20_000, 'the horizon to reach the head');
      const delivered: number[] = [];
      for (let events = await source.read(0, 1000); events.length > 0; events = await source.read(events.at(-1)?.id ?? 0, 1000)) {
        delivered.push(...events.map((e) => e.id));
      }
      expect(delivered).toEqual((await feedRows(fixture)).map((r) => r.id));
    } finally {
      await backend.close();
    }
  });

  test('head() waits for the transactions in flight and ends below their ids, so "the end" skips none of their events; the wait ends on abort', async () => {
    const fixture = await pgFeed();
    const { app, feed } = fixture;
    await transaction(app, feed, [[1, 1]]);
    const backend = await openFeedBackend(configSchema.parse({ database: fixture.url, source: { pollIntervalMs: 2 } }));
    try {
      expect(await backend.openSource().head()).toBe(1);
      const held = await pgApp(fixture.url);
      await held.query('BEGIN');
      await change(held, feed, 2, 1);
      await transaction(app, feed, [[3, 1]]);

      const aborted = new AbortController();
      const abortedHead = backend.openSource().head(aborted.signal);
      await sleep(50);
      aborted.abort();
      await expect(abortedHead).rejects.toThrow();

      const source = backend.openSource();
      let settled: number | undefined;
      const head = source.head().then((h) => (settled = h));
      await sleep(150);
      expect(settled, 'still waiting for the held transaction').toBeUndefined();
      await held.query('COMMIT');
      // The end as of the call: just below the held transaction's id, which committed after it.
      expect(await head).toBe(1);
      expect(await source.head()).toBe(3);
      const events = await source.read(0, 10);
      expect(events.map((e) => e.id)).toEqual([1, 2, 3]);
      expect(events[0]).toMatchObject({ table: 'item', subject: '1', type: 'item.created', specversion: '1.0', context: null, dataValid: true });
      expect(JSON.parse(events[0]?.data ?? '')).toEqual({ new: { id: 1, v: 1 } });
      expect(Number.isInteger(events[0]?.time)).toBe(true);
      expect(Math.abs((events[0]?.time ?? 0) - Date.now() / 1000)).toBeLessThan(60);
    } finally {
      await backend.close();
    }
  });

  test('waitForChange resolves when the horizon moves and returns promptly on abort', async () => {
    const fixture = await pgFeed();
    const backend = await openFeedBackend(configSchema.parse({ database: fixture.url, source: { pollIntervalMs: 5 } }));
    try {
      const source = backend.openSource();
      expect(await source.read(0, 10)).toEqual([]);
      const idle = new AbortController();
      const started = performance.now();
      const waiting = source.waitForChange(idle.signal);
      await sleep(50);
      idle.abort();
      await waiting;
      expect(performance.now() - started).toBeLessThan(500);

      const woken = source.waitForChange(new AbortController().signal);
      await sleep(20);
      await transaction(fixture.app, fixture.feed, [[1, 1]]);
      await woken;
      expect((await source.read(0, 10)).map((e) => e.id)).toEqual([1]);
    } finally {
      await backend.close();
    }
  });

  test('batches are bounded by bytes (at least one row), context and large integers kept as exact text', async () => {
    const fixture = await pgFeed();
    const { app, feed } = fixture;
    await app.query('BEGIN');
    await app.query("SELECT set_config('audite.actor', 'alice', true)");
    await app.query('INSERT INTO item VALUES (1, 1)');
    for (let i = 0; i < 5; i++) {
      await app.query(
        `INSERT INTO ${feed} (source, subject, type, data, context) VALUES ('item', '1', 'item.updated', jsonb_build_object('big', 9007199254740993::numeric, 'pad', repeat('x', 1000)), '{"actor": "alice"}')`,
      );
    }
    await app.query('COMMIT');
    const backend = await openFeedBackend(configSchema.parse({ database: fixture.url, source: { maxBatchBytes: 2500 } }));
    try {
      const source = backend.openSource();
      // A fresh source knows its bound once the transactions running now (anywhere in the cluster) end.
      await source.head();
      const first = await source.read(0, 100);
      expect(first.map((e) => e.id)).toEqual([1, 2, 3]);
      expect(first[0]?.data).toContain('9007199254740993');
      expect(first[0]?.context).toBe('{"actor": "alice"}');
      expect((await source.read(3, 100)).map((e) => e.id)).toEqual([4, 5]);
      const tiny = await openFeedBackend(configSchema.parse({ database: fixture.url, source: { maxBatchBytes: 1 } }));
      try {
        const tinySource = tiny.openSource();
        await tinySource.head();
        expect((await tinySource.read(0, 100)).map((e) => e.id)).toEqual([1]);
      } finally {
        await tiny.close();
      }
    } finally {
      await backend.close();
    }
  });

  test('under a long transaction the remembered pairs stay bounded, and the bound catches up once it ends', async () => {
    // A scripted session: the sequence climbs by one per poll, the next xid by two, xmin is stuck at 100.
    let polls = 0;
    let xmin = 100n;
    const client = {
      query: async <R>(text: string): Promise<{ rows: R[]; rowCount: number }> => {
        if (text.includes('last_value')) return { rows: [{ last_value: String(++polls), is_called: true } as R], rowCount: 1 };
        const next = 100n + 2n * BigInt(polls);
        return { rows: [{ xmin: String(xmin), xmax: String(next), ahead: 1 } as R], rowCount: 1 };
      },
    };
    const horizon = new VisibilityHorizon(client, '"audite"."changefeed_id_seq"');
    for (let i = 0; i < 5000; i++) expect(await horizon.refresh()).toBe(0);
    const pending = (horizon as unknown as { pending: unknown[] }).pending;
    expect(pending.length).toBeLessThanOrEqual(256);
    // The long transaction ends; the others running at the last poll too.
    xmin = 100n + 2n * 5001n + 1n;
    expect(await horizon.refresh()).toBe(5001);
    expect(pending.length).toBe(0);
  });

  test('an id beyond 2^53 is refused with a clear error, not rounded', async () => {
    const fixture = await pgFeed();
    await fixture.app.query(`ALTER TABLE ${fixture.feed} ALTER COLUMN id RESTART WITH 9007199254740993`);
    await transaction(fixture.app, fixture.feed, [[1, 1]]);
    const backend = await openFeedBackend(configSchema.parse({ database: fixture.url }));
    try {
      const error = await backend
        .openSource()
        .read(0, 10)
        .catch((e: unknown) => e);
      expect(isAuditeError(error)).toBe(true);
      expect((error as Error).message).toMatch(/feed id 9007199254740993 is not an integer up to 2\^53/);
    } finally {
      await backend.close();
    }
  });
});
