import type Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, memoryStream, runRelay, testConfig, waitFor } from '../support/relay.ts';

/** Feed rows 1-3 are fine, row 2's data is corrupted to something that is not JSON. */
function feedWithPoison(): { file: string; app: Database.Database } {
  const db = appDatabase();
  const insert = db.app.prepare('INSERT INTO item (id, name, qty) VALUES (?, ?, ?)');
  for (let i = 1; i <= 3; i++) insert.run(i, `item ${i}`, i);
  db.app.prepare("UPDATE audite_changefeed SET data = '{not json' WHERE id = 2").run();
  return db;
}

describe('permanent failures follow the policy, never silently dropped, never wedging others', () => {
  test('halt (default): the consumer stops before the poison, the others go on', async () => {
    const { file, app } = feedWithPoison();
    const out = memoryStream();
    const relay = await runRelay(
      testConfig({
        database: file,
        sinks: [
          { type: 'stdout', name: 'halts' },
          { type: 'file', name: 'skips', path: `${file}.jsonl`, onPermanentFailure: 'skip' },
        ],
      }),
      out.stream,
    );
    await waitFor(() => relay.consumers[0]?.outcome === 'halted', 10_000, 'halt');
    await waitFor(() => cursorOf(app, 'skips') === 3, 10_000, 'skipping consumer');
    await relay.stop();
    expect(cursorOf(app, 'halts')).toBe(1);
    const row = app.prepare("SELECT halted, last_error FROM audite_cursor WHERE consumer = 'halts'").get() as { halted: number; last_error: string };
    expect(row.halted).toBe(1);
    expect(row.last_error).toContain('event 2');
    expect(out.lines().map((l) => (JSON.parse(l) as { id: string }).id)).toEqual(['1']);
  });

  test('dead-letter: the event and the response are stored, delivery goes on, and replay works', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    receiver.enqueue('ok', { status: 422, body: 'unprocessable: qty' });
    const insert = app.prepare('INSERT INTO item (id, name, qty) VALUES (?, ?, ?)');
    for (let i = 1; i <= 3; i++) insert.run(i, `item ${i}`, i);
    const relay = await runRelay(testConfig({ database: file, sinks: [{ type: 'http', name: 'hook', url: receiver.url, onPermanentFailure: 'dead-letter' }] }));
    await waitFor(() => cursorOf(app, 'hook') === 3, 10_000, 'all past');
    await relay.stop();
    expect(receiver.delivered().map((r) => r.headers['ce-id'])).toEqual(['1', '3']);
    const letters = app.prepare('SELECT consumer, event_id AS eventId, status, response FROM audite_deadletter').all();
    expect(letters).toEqual([{ consumer: 'hook', eventId: 2, status: 422, response: 'unprocessable: qty' }]);
  });

  test('batch mode: a refused batch is split to find the one bad event', async () => {
    const { file, app } = appDatabase();
    const receiver = await startReceiver();
    receiver.enqueue({ status: 400 }, 'ok', { status: 400 }, 'ok');
    const insert = app.prepare('INSERT INTO item (id, name, qty) VALUES (?, ?, ?)');
    app.transaction(() => {
      for (let i = 1; i <= 3; i++) insert.run(i, `item ${i}`, i);
    })();
    const relay = await runRelay(
      testConfig({ database: file, sinks: [{ type: 'http', name: 'hook', url: receiver.url, mode: 'batch', onPermanentFailure: 'skip' }] }),
    );
    await waitFor(() => cursorOf(app, 'hook') === 3, 10_000, 'all past');
    await relay.stop();
    const bodies = receiver.delivered().map((r) => (JSON.parse(r.body) as { id: string }[]).map((e) => e.id));
    expect(bodies).toEqual([['1'], ['3']]);
  });
});
