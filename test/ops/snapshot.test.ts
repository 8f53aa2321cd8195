import { spawn } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { enable } from '../../src/capture/enable.ts';
import { readSnapshotState } from '../../src/capture/snapshot-progress.ts';
import { snapshot, type SnapshotProgress } from '../../src/capture/snapshot.ts';
import { createProgressReporter } from '../../src/ops/progress-line.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { REPO_ROOT, runCli } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, memoryStream, runRelay, testConfig, waitFor } from '../support/relay.ts';

type App = ReturnType<typeof appDatabase>['app'];
const asDb = (app: App): SqliteDatabase => app as unknown as SqliteDatabase;
const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

interface FeedRow {
  id: number;
  source: string;
  subject: string;
  type: string;
  data: string;
  context: string | null;
}

const feed = (app: App, type: string): FeedRow[] =>
  app.prepare('SELECT id, source, subject, type, data, context FROM audite_changefeed WHERE type LIKE ? ORDER BY id').all(`%.${type}`) as FeedRow[];

const SHAPES = `
  CREATE TABLE plain (id INTEGER PRIMARY KEY, name TEXT, secret TEXT, b BLOB);
  CREATE TABLE compound (x TEXT, y INT, v, PRIMARY KEY (x, y)) WITHOUT ROWID;
  CREATE TABLE textkey (k TEXT PRIMARY KEY, v);
  CREATE TABLE nokey (v1, v2);
  CREATE TABLE strict_t (id INTEGER PRIMARY KEY, t TEXT, r REAL, i INT) STRICT;
  CREATE TABLE generated (id INTEGER PRIMARY KEY, a INT, b INT GENERATED ALWAYS AS (a * 2) VIRTUAL);
  CREATE TABLE mixed (a TEXT, b INT, v, PRIMARY KEY (a COLLATE NOCASE DESC, b)) WITHOUT ROWID;
  CREATE TABLE big (k INTEGER PRIMARY KEY DESC, v);
  CREATE TABLE wide (id INTEGER PRIMARY KEY, ${Array.from({ length: 70 }, (_, i) => `c${i}`).join(', ')});
`;

function fillShapes(app: App): void {
  app.transaction(() => {
    for (let i = 0; i < 10; i++) {
      app.prepare('INSERT INTO plain (name, secret, b) VALUES (?, ?, ?)').run(`n${i}`, 's', Buffer.from([i, 255]));
      app.prepare('INSERT INTO compound VALUES (?, ?, ?)').run(`x${i % 3}`, i, i * 1.5);
      app.prepare('INSERT INTO textkey VALUES (?, ?)').run(i === 0 ? null : `k:${i}`, i);
      app.prepare('INSERT INTO nokey VALUES (?, ?)').run(i, `v${i}`);
      app.prepare('INSERT INTO strict_t (t, r, i) VALUES (?, ?, ?)').run(`t${i}`, i / 3, i);
      app.prepare('INSERT INTO generated (a) VALUES (?)').run(i);
      app.prepare('INSERT INTO mixed VALUES (?, ?, ?)').run(i % 2 ? `A${i % 4}` : `b${i % 4}`, i, i);
      app.prepare('INSERT INTO big VALUES (?, ?)').run(2n ** 62n - BigInt(i), i);
      app
        .prepare(`INSERT INTO wide (${Array.from({ length: 70 }, (_, j) => `c${j}`).join(', ')}) VALUES (${Array.from({ length: 70 }, () => '?').join(', ')})`)
        .run(...Array.from({ length: 70 }, (_, j) => j * i));
    }
  })();
}

describe('snapshot', () => {
  test('same subject and image as the capture triggers, for every table shape, in chunks', async () => {
    const { app } = appDatabase(SHAPES);
    enable(asDb(app), { excludeColumns: { plain: ['secret'] } });
    fillShapes(app);
    const created = feed(app, 'created');
    const progress: SnapshotProgress[] = [];
    const result = await snapshot(asDb(app), { chunkSize: 3, pauseMs: 0, onProgress: (p) => progress.push(p) });
    expect(result).toMatchObject({ complete: true, resumed: false, emitted: 90, rows: 90 });
    const snapshots = feed(app, 'snapshot');
    expect(snapshots).toHaveLength(90);
    const key = (r: FeedRow): string => `${r.source}\u0000${r.subject}`;
    const images = new Map(created.map((r) => [key(r), r.data]));
    for (const row of snapshots) {
      expect(row.type).toBe(`${row.source}.snapshot`);
      expect(row.data, `${row.source} ${row.subject}`).toBe(images.get(key(row)));
      expect(JSON.parse(row.context ?? '')).toEqual({ reason: 'snapshot', snapshot: result.id });
    }
    expect(new Set(snapshots.map(key))).toEqual(new Set(images.keys()));
    expect(snapshots.some((r) => r.data.includes('secret'))).toBe(false);
    // Chunks of three: each table's four chunks, then the next table; the last report says done.
    expect(progress.at(-1)).toMatchObject({ done: true, rows: 90, total: 90 });
    expect(progress.length).toBeGreaterThanOrEqual(9 * 4);
    expect(readSnapshotState(asDb(app))).toMatchObject({ id: result.id, finishedAt: expect.any(Number) });
  });

  test('consistent under concurrent writes: folded downstream through the relay, every row ends in its latest state', async () => {
    const { file, app } = appDatabase(
      "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 20000) INSERT INTO item SELECT i, 'n' || i, i FROM s;",
    );
    const receiver = await startReceiver();
    const relay = await runRelay(testConfig({ database: file, sinks: [{ type: 'http', name: 'hook', mode: 'batch', url: receiver.url }] }));
    const writer = spawn(process.execPath, [join(REPO_ROOT, 'test', 'ops', 'fixtures', 'random-writer.ts'), file, '25000'], { stdio: 'ignore' });
    try {
      await waitFor(() => (app.prepare('SELECT count(*) FROM audite_changefeed').pluck().get() as number) > 200, 20_000, 'the writer to start');
      const result = await snapshot(asDb(app), { chunkSize: 100 });
      expect(result.complete).toBe(true);
    } finally {
      writer.kill('SIGTERM');
      await new Promise((resolve) => writer.once('exit', resolve));
    }
    const head = app.prepare('SELECT max(id) FROM audite_changefeed').pluck().get() as number;
    // The app's writes did land between the snapshot's chunks.
    const span = app.prepare("SELECT min(id) AS first, max(id) AS last FROM audite_changefeed WHERE type = 'item.snapshot'").get() as {
      first: number;
      last: number;
    };
    const interleaved = app
      .prepare("SELECT count(*) FROM audite_changefeed WHERE type <> 'item.snapshot' AND id BETWEEN ? AND ?")
      .pluck()
      .get(span.first, span.last) as number;
    expect(interleaved).toBeGreaterThan(10);
    await waitFor(() => cursorOf(app, 'hook') === head, 60_000, 'delivery');
    await relay.stop();

    const state = new Map<string, string>();
    let snapshots = 0;
    for (const request of receiver.delivered()) {
      for (const event of JSON.parse(request.body) as { type: string; subject: string; reason?: string; data: { new?: unknown } }[]) {
        if (event.type === 'item.deleted') state.delete(event.subject);
        else state.set(event.subject, JSON.stringify(event.data.new));
        if (event.type === 'item.snapshot') {
          snapshots += 1;
          expect(event.reason).toBe('snapshot');
        }
      }
    }
    const table = new Map(
      (app.prepare('SELECT id, name, qty FROM item').all() as { id: number; name: string; qty: number }[]).map((r) => [String(r.id), JSON.stringify(r)]),
    );
    expect(snapshots).toBeGreaterThan(10_000);
    expect(state.size).toBe(table.size);
    for (const [subject, row] of table) if (state.get(subject) !== row) expect.fail(`item ${subject}: downstream ${state.get(subject)}, table ${row}`);
  });

  test('killed -9 mid-way, the CLI resumes where it stopped: every row exactly once', async () => {
    const { file, app } = appDatabase(
      "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER); WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 30000) INSERT INTO item SELECT i, 'n' || i, i FROM s;",
    );
    const child = spawn(process.execPath, [MAIN, 'snapshot', file, '--chunk-size', '50', '--pause', '1'], { stdio: 'ignore' });
    const rows = (): number => readSnapshotState(asDb(app))?.rows ?? 0;
    await waitFor(() => rows() >= 500 || child.exitCode !== null, 30_000, 'the snapshot to get going');
    child.kill('SIGKILL');
    await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    const before = rows();
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(30_000);
    expect(feed(app, 'snapshot')).toHaveLength(before);

    const resumed = await runCli(['snapshot', file, '--chunk-size', '5000']);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('snapshot resumed and complete: 30000 row(s) from 1 table(s) (item)');
    expect(resumed.stderr).toMatch(/snapshot item: 30,000 \/ ~\d[\d,]* rows \(100%\).*done/);
    const subjects = feed(app, 'snapshot').map((r) => Number(r.subject));
    expect(subjects).toHaveLength(30_000);
    expect(new Set(subjects).size).toBe(30_000);
    // In key order, across the crash.
    expect(subjects).toEqual([...subjects].sort((a, b) => a - b));

    // A finished run is not resumed: the next one starts afresh.
    const again = await runCli(['snapshot', file, '--table', 'ITEM']);
    expect(again.stdout).toContain('snapshot complete: 30000 row(s)');
  });

  test('refuses unknown or uncaptured tables, stale triggers, and a different table list while a run is unfinished', async () => {
    const { file, app } = appDatabase('CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER); CREATE TABLE other (id INTEGER PRIMARY KEY)');
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1)").run();
    const unknown = await runCli(['snapshot', file, '--table', 'nope']);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/"nope" is not captured/);

    app.exec('ALTER TABLE item ADD COLUMN extra TEXT');
    const stale = await runCli(['snapshot', file]);
    expect(stale.code).toBe(69);
    expect(stale.stderr).toMatch(/capture triggers on "item" are stale; run `audite enable` first/);
    enable(asDb(app));

    // An unfinished run of both tables (as a crash leaves it)…
    const controller = new AbortController();
    controller.abort();
    const interrupted = await snapshot(asDb(app), { signal: controller.signal });
    expect(interrupted.complete).toBe(false);
    const other = await runCli(['snapshot', file, '--table', 'other']);
    expect(other.code).toBe(64);
    expect(other.stderr).toMatch(/an unfinished snapshot of item, other exists/);
    expect((await runCli(['snapshot', file, '--table', 'other', '--restart'])).stdout).toContain('snapshot complete: 0 row(s) from 1 table(s) (other)');
  });

  test('progress: one line redrawn on a TTY, periodic lines otherwise', () => {
    const p = (rows: number, done = false): SnapshotProgress => ({
      id: 'x',
      table: 'item',
      tableIndex: 0,
      tableCount: 1,
      tableRows: rows,
      tableTotal: 1000,
      rows,
      total: 1000,
      emitted: rows,
      done,
    });
    let clock = 0;
    const tty = memoryStream();
    const bar = createProgressReporter({ stream: tty.stream, tty: true, now: () => clock });
    clock = 100;
    bar.update(p(100));
    clock = 150;
    bar.update(p(200)); // within 100 ms of the last redraw: skipped
    clock = 1000;
    bar.update(p(1000, true));
    bar.finish();
    // One line, ended by finish().
    expect(tty.lines()).toEqual([
      '\r\x1b[2Ksnapshot item: 100 / ~1,000 rows (10%), 1,000 rows/s, ETA 0:01' + '\r\x1b[2Ksnapshot item: 1,000 / ~1,000 rows (100%), 1,000 rows/s, done',
    ]);
    clock = 0;
    const log = memoryStream();
    const lines = createProgressReporter({ stream: log.stream, tty: false, logEveryMs: 5000, now: () => clock });
    for (clock = 0; clock <= 12_000; clock += 1000) lines.update(p(clock / 20));
    lines.update(p(1000, true));
    expect(log.lines()).toHaveLength(4);
    expect(log.lines().every((l) => !l.includes('\r'))).toBe(true);
  });
});

describe('snapshot events downstream', () => {
  test('arrive as <table>.snapshot CloudEvents with the reason extension, after the rows that were already changed', async () => {
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1)").run();
    const db = new Database(file);
    try {
      await snapshot(db as unknown as SqliteDatabase, { pauseMs: 0 });
    } finally {
      db.close();
    }
    const receiver = await startReceiver();
    const relay = await runRelay(testConfig({ database: file, sinks: [{ type: 'http', name: 'hook', url: receiver.url }] }));
    try {
      await waitFor(() => cursorOf(app, 'hook') === 2, 20_000, 'delivery');
    } finally {
      await relay.stop();
    }
    const [created, snap] = receiver.delivered();
    expect(created?.headers['ce-type']).toBe('item.created');
    expect(snap?.headers['ce-type']).toBe('item.snapshot');
    expect(snap?.headers['ce-reason']).toBe('snapshot');
    expect(snap?.headers['ce-subject']).toBe('1');
    expect(JSON.parse(snap?.body ?? '')).toEqual({ new: { id: 1, name: 'a', qty: 1 } });
  });
});
