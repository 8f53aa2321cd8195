import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { REPO_ROOT } from '../support/cli.ts';
import { appDatabase, waitFor } from '../support/relay.ts';
import { parseMetrics, valueOf } from './support.ts';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

test('audite run --ops-port 0 --retention --auto-refresh: logs where it serves, answers, exits 0 on SIGTERM', async () => {
  const { file, app } = appDatabase();
  app.prepare("INSERT INTO item (name, qty) VALUES ('a', 1)").run();
  const child = spawn(process.execPath, [MAIN, 'run', file, '--ops-port', '0', '--retention', '7d', '--auto-refresh', '--log-level', 'info'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor(() => stderr.includes('ops endpoint serving'), 20_000, 'the ops endpoint');
    const line = stderr.split('\n').find((l) => l.includes('ops endpoint serving')) ?? '';
    const { host, port } = JSON.parse(line) as { host: string; port: number };
    expect(host).toBe('127.0.0.1');
    const base = `http://${host}:${port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    await waitFor(() => app.prepare("SELECT position FROM audite_cursor WHERE consumer = 'stdout'").pluck().get() === 1, 20_000, 'delivery');
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const samples = parseMetrics(await (await fetch(`${base}/metrics`)).text());
    expect(valueOf(samples, 'audite_events_published_total', { consumer: 'stdout' })).toBe(1);
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exit).toBe(0);
});
