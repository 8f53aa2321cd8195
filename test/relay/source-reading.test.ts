import { statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { SqliteChangeSource } from '../../src/source/sqlite-source.ts';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, memoryStream, runRelay, testConfig, waitFor } from '../support/relay.ts';
import { tempDbPath } from '../support/temp.ts';

test('the WAL stays bounded while the relay reads under steady writes', async () => {
  const { file, app } = appDatabase('CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, pad TEXT)');
  const receiver = await startReceiver();
  const relay = await runRelay(
    testConfig({ database: file, source: { batchSize: 100, pollIntervalMs: 2 }, sinks: [{ type: 'http', name: 'hook', url: receiver.url, mode: 'batch' }] }),
  );
  const insert = app.prepare('INSERT INTO item (name, qty, pad) VALUES (?, ?, ?)');
  const pad = 'x'.repeat(500);
  let peak = 0;
  // ~20 MB of changes: without checkpoints the WAL would hold all of it.
  for (let round = 0; round < 200; round++) {
    app.transaction(() => {
      for (let i = 0; i < 100; i++) insert.run(`n${i}`, i, pad);
    })();
    await new Promise((r) => setTimeout(r, 2));
    peak = Math.max(peak, statSync(`${file}-wal`).size);
  }
  const head = app.prepare('SELECT max(id) FROM audite_changefeed').pluck().get() as number;
  await waitFor(() => cursorOf(app, 'hook') === head, 30_000, 'drain');
  await relay.stop();
  const total = statSync(file).size;
  // SQLite's auto-checkpoint resets the WAL at ~1000 pages (4 MB); a pinned reader would let it grow to the whole ~20 MB.
  expect(peak).toBeLessThan(12 * 1024 * 1024);
  expect(total).toBeGreaterThan(15 * 1024 * 1024);
});

test('relays a feed created by Python audite (AUTOINCREMENT, no context column, no cursor table)', async () => {
  const file = tempDbPath();
  const app = new Database(file);
  app.exec(`CREATE TABLE task (name TEXT PRIMARY KEY, done BOOLEAN NOT NULL DEFAULT FALSE);
    CREATE TABLE IF NOT EXISTS "audite_changefeed" (id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, subject TEXT NOT NULL, type TEXT NOT NULL, time INTEGER NOT NULL DEFAULT (strftime('%s')), specversion TEXT NOT NULL, data JSON);
    CREATE TRIGGER "audite_audit_task_insert_trigger" AFTER INSERT ON "task" BEGIN
      INSERT INTO "audite_changefeed" ("source", "subject", "type", "specversion", "data") VALUES ('task', NEW.name, 'task.created', '1.0', json_object('new', json_object('done', NEW.done, 'name', NEW.name)));
    END;
    INSERT INTO task (name) VALUES ('try audite');`);
  const out = memoryStream();
  const relay = await runRelay(testConfig({ database: file }), out.stream);
  await waitFor(() => out.lines().length === 1, 10_000, 'one event');
  await relay.stop();
  const event = JSON.parse(out.lines()[0] as string) as Record<string, unknown>;
  expect(event).toMatchObject({ id: '1', source: 'task', subject: 'try audite', type: 'task.created', data: { new: { done: 0, name: 'try audite' } } });
  expect(event.actor).toBeUndefined();
});

test('integers beyond 2^53, unicode and BLOB hex arrive exactly as captured', async () => {
  const { file, app } = appDatabase('CREATE TABLE item (id INTEGER PRIMARY KEY, big INTEGER, name TEXT, raw BLOB)');
  app.prepare('INSERT INTO item (id, big, name, raw) VALUES (1, ?, ?, ?)').run(9007199254740993n, 'Zoë 🚀 "quoted"', Buffer.from([0xde, 0xad, 0xbe, 0xef]));
  const receiver = await startReceiver();
  const out = memoryStream();
  const relay = await runRelay(
    testConfig({
      database: file,
      sinks: [
        { type: 'stdout', name: 'out' },
        { type: 'http', name: 'b', url: receiver.url },
        { type: 'http', name: 's', url: receiver.url, mode: 'structured' },
      ],
    }),
    out.stream,
  );
  await waitFor(() => receiver.delivered().length === 2 && out.lines().length === 1, 10_000, 'deliveries');
  await relay.stop();
  const captured = app.prepare('SELECT data FROM audite_changefeed WHERE id = 1').pluck().get() as string;
  expect(captured).toContain('9007199254740993');
  const binaryBody = receiver.delivered().find((r) => r.headers['ce-id'] !== undefined)?.body;
  expect(binaryBody).toBe(captured);
  const structured = receiver.delivered().find((r) => r.headers['ce-id'] === undefined)?.body ?? '';
  expect(structured).toContain(`"data":${captured}`);
  expect(out.lines()[0]).toContain(`"data":${captured}`);
  expect(captured).toContain('"raw":"DEADBEEF"');
});

test('a batch ends at maxBatchBytes (but always holds one row), so memory stays flat whatever the row sizes', async () => {
  const { file, app } = appDatabase();
  const insert = app.prepare('INSERT INTO item (id, name, qty) VALUES (?, ?, ?)');
  for (let i = 1; i <= 6; i++) insert.run(i, 'x'.repeat(1000), i);
  const open = (maxBatchBytes?: number): SqliteChangeSource =>
    new SqliteChangeSource(openDatabase(file, { readonly: true }), { pollIntervalMs: 5, ...(maxBatchBytes === undefined ? {} : { maxBatchBytes }) });
  const unbounded = open();
  expect((await unbounded.read(0, 100)).map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6]);
  await unbounded.close();
  const tiny = open(1);
  expect((await tiny.read(0, 100)).map((e) => e.id)).toEqual([1]);
  expect((await tiny.read(1, 100)).map((e) => e.id)).toEqual([2]);
  await tiny.close();
  // Each row's data is a little over 1,000 bytes: a 2,500-byte cap stops after the row that crosses it.
  const capped = open(2500);
  expect((await capped.read(0, 100)).map((e) => e.id)).toEqual([1, 2, 3]);
  expect((await capped.read(0, 2)).map((e) => e.id)).toEqual([1, 2]);
  await capped.close();
});
