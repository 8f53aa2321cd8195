import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT, runCli } from '../support/cli.ts';
import { appDatabase, cursorOf, waitFor } from '../support/relay.ts';
import { tempDbPath, tempDir } from '../support/temp.ts';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

function daemon(args: string[]): {
  child: ReturnType<typeof spawn>;
  output: () => { stdout: string; stderr: string };
  exit: Promise<{ code: number | null; signal: string | null }>;
} {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exit = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => ({ stdout, stderr }), exit };
}

describe('audite run', () => {
  test('relays to stdout by default and exits 0 on SIGTERM', async () => {
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2)").run();
    const d = daemon(['run', file, '--log-level', 'info']);
    await waitFor(() => d.output().stdout.split('\n').filter(Boolean).length === 2, 20_000, 'two events on stdout');
    d.child.kill('SIGTERM');
    const { code } = await d.exit;
    expect(code).toBe(0);
    const lines = d
      .output()
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; type: string });
    expect(lines.map((l) => [l.id, l.type])).toEqual([
      ['1', 'item.created'],
      ['2', 'item.created'],
    ]);
    expect(d.output().stderr).toContain('relay started');
    expect(cursorOf(app, 'stdout')).toBe(2);
  });

  test('an unreachable URL at start: keeps retrying, loses nothing, stops at once', async () => {
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1)").run();
    const d = daemon(['run', file, '--http-url', 'http://127.0.0.1:9/unreachable', '--log-level', 'warn']);
    await waitFor(() => /HTTP delivery failed, retrying/.test(d.output().stderr), 20_000, 'a delivery warning');
    const stopAt = Date.now();
    d.child.kill('SIGTERM');
    expect((await d.exit).code).toBe(0);
    // A failing sink has nothing in flight: the stop does not sit out the 10 s grace period.
    expect(Date.now() - stopAt).toBeLessThan(5000);
    expect(cursorOf(app, 'http')).toBe(0);
  });

  test('a second signal forces the exit', async () => {
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1)").run();
    const d = daemon(['run', file, '--http-url', 'http://127.0.0.1:9/unreachable', '--log-level', 'warn']);
    await waitFor(() => /HTTP delivery failed, retrying/.test(d.output().stderr), 20_000, 'retrying');
    d.child.kill('SIGTERM');
    d.child.kill('SIGTERM');
    const { code } = await d.exit;
    expect([0, 1]).toContain(code);
  });

  test.each([
    ['a missing database', (file: string) => ['run', `${file}.missing`], 66, /does not exist/],
    ['a database that is not enabled', (file: string) => ['run', file], 69, /audite enable/],
    ['an invalid config value', (file: string) => ['run', file, '--batch-size', 'lots'], 78, /source\.batchSize/],
    ['an unknown flag', (file: string) => ['run', file, '--frobnicate'], 64, /unknown option/],
  ])('bad input, %s: one-line error, exit code', async (_name, args, code, message) => {
    const file = tempDbPath();
    new Database(file).exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    const result = await runCli(args(file));
    expect(result.code).toBe(code);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')[0]).toMatch(/^(audite: |error: )/);
  });

  test('invalid config file: names the path, exit 78', async () => {
    const { file } = appDatabase();
    const config = join(tempDir(), 'bad.yaml');
    writeFileSync(config, `database: ${file}\nsinks:\n  - type: http\n    url: not a url\n`);
    const result = await runCli(['run', '--config', config]);
    expect(result.code).toBe(78);
    expect(result.stderr).toContain('sinks.0.url');
  });
});

describe('audite tail and cursor', () => {
  test('tail --from beginning --no-follow prints the feed and keeps no cursor', async () => {
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2), ('c', 3)").run();
    const result = await runCli(['tail', file, '--from', 'beginning', '--no-follow']);
    expect(result.code).toBe(0);
    expect(
      result.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(['1', '2', '3']);
    expect(app.prepare('SELECT count(*) FROM audite_cursor').pluck().get()).toBe(0);
  });

  test('cursor reset moves a consumer backwards and clears a halt; bad positions are refused', async () => {
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2)").run();
    expect((await runCli(['cursor', 'reset', file, 'hook', '--to', 'end'])).code).toBe(0);
    expect(cursorOf(app, 'hook')).toBe(2);
    expect((await runCli(['cursor', 'reset', file, 'hook', '--to', '1'])).code).toBe(0);
    expect(cursorOf(app, 'hook')).toBe(1);
    const bad = await runCli(['cursor', 'reset', file, 'hook', '--to', '99']);
    expect(bad.code).toBe(64);
    expect(cursorOf(app, 'hook')).toBe(1);
  });

  test('cursor reset waits for a lock up to the busy timeout, then exits 75 with one line, cursor unchanged', async () => {
    const { file, app } = appDatabase();
    app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1), ('b', 2)").run();
    expect((await runCli(['cursor', 'reset', file, 'hook', '--to', 'end'])).code).toBe(0);
    app.exec('BEGIN IMMEDIATE');
    try {
      const started = Date.now();
      const locked = await runCli(['cursor', 'reset', file, 'hook', '--to', 'start'], { env: { AUDITE_SOURCE__BUSY_TIMEOUT_MS: '600' } });
      expect(locked.code).toBe(75);
      expect(locked.stderr).toMatch(/^audite: database .* is locked by another connection beyond the busy timeout; .*\n$/);
      // It waited the configured 600 ms, not the running daemon's 250 ms cap.
      expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    } finally {
      app.exec('ROLLBACK');
    }
    expect(cursorOf(app, 'hook')).toBe(2);
  });
});
