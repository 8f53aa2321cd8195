import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { disable } from '../../src/capture/disable.ts';
import { enable } from '../../src/capture/enable.ts';
import type { Relay } from '../../src/relay/relay.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, waitFor } from '../support/relay.ts';
import { memoryLogger, readyz, runRelayLogged, scrape, valueOf } from './support.ts';

const WRITER = join(REPO_ROOT, 'test', 'ops', 'fixtures', 'sequence-writer.ts');
const ENTRY = 'CREATE TABLE entry (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, touched INTEGER NOT NULL)';

interface Event {
  type: string;
  data: { new?: Record<string, unknown> };
}

describe('schema drift', () => {
  test('autoRefresh: an ALTER TABLE from another connection under writes is picked up, losing and doubling nothing; a new table is captured', async () => {
    const { file, app } = appDatabase(ENTRY);
    const receiver = await startReceiver();
    const logger = memoryLogger();
    const relay = await runRelayLogged(
      {
        database: file,
        ops: { port: 0 },
        schema: { autoRefresh: true, checkIntervalMs: 20 },
        sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url }],
      },
      logger,
    );
    const writer = spawn(process.execPath, [WRITER, file, '1'], { stdio: 'ignore' });
    const migration = new Database(file);
    migration.pragma('busy_timeout = 5000');
    try {
      await waitFor(() => (app.prepare('SELECT count(*) FROM entry').pluck().get() as number) > 100, 20_000, 'writes before the migration');
      migration.exec("ALTER TABLE entry ADD COLUMN note TEXT NOT NULL DEFAULT 'migrated'");
      migration.exec('CREATE TABLE fresh (id INTEGER PRIMARY KEY, v TEXT)');
      const rebuilt = (): string[] =>
        logger.lines.filter((l) => l.msg.startsWith('schema changed: capture triggers rebuilt')).flatMap((l) => (l.fields as { tables: string[] }).tables);
      await waitFor(() => rebuilt().includes('fresh'), 20_000, 'the refresh');
      migration.prepare("INSERT INTO fresh (v) VALUES ('new table')").run();
      const at = app.prepare('SELECT count(*) FROM entry').pluck().get() as number;
      await waitFor(() => (app.prepare('SELECT count(*) FROM entry').pluck().get() as number) > at + 100, 20_000, 'writes after the migration');
    } finally {
      writer.kill('SIGTERM');
      await new Promise((resolve) => writer.once('exit', resolve));
      migration.close();
    }
    const head = app.prepare('SELECT max(id) FROM audite_changefeed').pluck().get() as number;
    await waitFor(() => cursorOf(app, 'hook') === head, 30_000, 'delivery');
    const samples = await scrape(relay);
    expect((await readyz(relay)).status).toBe(200);
    await relay.stop();

    expect(valueOf(samples, 'audite_schema_refreshes_total')).toBeGreaterThanOrEqual(2);
    const refreshed = logger.lines
      .filter((l) => l.msg.startsWith('schema changed: capture triggers rebuilt'))
      .flatMap((l) => (l.fields as { tables: string[] }).tables);
    expect(new Set(refreshed)).toEqual(new Set(['entry', 'fresh']));

    const events = receiver.delivered().flatMap((r) => JSON.parse(r.body) as Event[]);
    // Every insert recorded exactly once, before or after the rebuild.
    const entries = app.prepare('SELECT n, touched, note FROM entry ORDER BY n').all() as { n: number; touched: number; note: string }[];
    const created = events.filter((e) => e.type === 'entry.created').map((e) => e.data.new?.n);
    expect(created).toEqual(entries.map((e) => e.n));
    // Every update recorded exactly once: per entry, touched = 1, 2, … up to its final value.
    const touches = new Map<number, number[]>();
    for (const e of events.filter((e) => e.type === 'entry.updated'))
      touches.set(e.data.new?.n as number, [...(touches.get(e.data.new?.n as number) ?? []), e.data.new?.touched as number]);
    for (const e of entries) expect(touches.get(e.n) ?? [], `updates of entry ${e.n}`).toEqual(Array.from({ length: e.touched }, (_, i) => i + 1));
    // Events written before the rebuild lack the new column; every one after it has it.
    const notes = events.filter((e) => e.type === 'entry.created').map((e) => e.data.new?.note);
    const firstWith = notes.indexOf('migrated');
    expect(firstWith).toBeGreaterThan(0);
    expect(notes.slice(firstWith).every((n) => n === 'migrated')).toBe(true);
    expect(notes.slice(0, firstWith).every((n) => n === undefined)).toBe(true);
    expect(events.filter((e) => e.type === 'fresh.created').map((e) => e.data.new)).toEqual([{ id: 1, v: 'new table' }]);
  });

  test('without autoRefresh: warned, not ready, stale tables in the metrics, until `enable` runs', async () => {
    const { file, app } = appDatabase();
    const logger = memoryLogger();
    const relay = await runRelayLogged({ database: file, ops: { port: 0 }, schema: { checkIntervalMs: 20 } }, logger);
    try {
      expect((await readyz(relay)).status).toBe(200);
      const other = new Database(file);
      other.exec('ALTER TABLE item ADD COLUMN extra TEXT');
      other.close();
      await waitFor(
        () => logger.lines.some((l) => l.level === 'warn' && l.msg.startsWith('schema changed: capture triggers are stale')),
        20_000,
        'the warning',
      );
      const notReady = await readyz(relay);
      expect(notReady.status).toBe(503);
      expect(notReady.body.reasons).toEqual([expect.stringMatching(/^stale capture triggers on item: .*run `audite enable`/)]);
      expect(valueOf(await scrape(relay), 'audite_stale_triggers', { table: 'item' })).toBe(1);

      enable(app as unknown as SqliteDatabase);
      await waitForReadiness(relay, true);
      expect(valueOf(await scrape(relay), 'audite_stale_triggers', { table: 'item' })).toBeUndefined();
    } finally {
      await relay.stop();
    }
  });

  test('autoRefresh never re-enables a database whose capture was disabled on purpose', async () => {
    const { file, app } = appDatabase();
    const logger = memoryLogger();
    const relay = await runRelayLogged({ database: file, ops: { port: 0 }, schema: { autoRefresh: true, checkIntervalMs: 20 } }, logger);
    try {
      disable(app as unknown as SqliteDatabase);
      await waitForReadiness(relay, false);
      expect((await readyz(relay)).body.reasons).toEqual([expect.stringMatching(/^capture: capture is disabled/)]);
      const triggers = app.prepare("SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND name LIKE 'audite_audit_%'").pluck();
      expect(triggers.get()).toBe(0);
    } finally {
      await relay.stop();
    }
  });
});

async function waitForReadiness(relay: Relay, ready: boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while ((await relay.ops?.readiness())?.ready !== ready) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ready = ${ready}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
