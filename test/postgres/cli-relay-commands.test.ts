import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { pgFeedObjects } from '../../src/capture/postgres/pg-feed-schema.ts';
import { qualified } from '../../src/postgres/quote.ts';
import { REPO_ROOT, runCli } from '../support/cli.ts';
import { pgApp, pgUrl, unprivilegedRole } from '../support/postgres.ts';
import { freshPgDatabase } from '../support/postgres.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { runRelay, testConfig } from '../support/relay.ts';
import { tempDir } from '../support/temp.ts';
import { eventually, pgCursorOf, pgFeed, transaction } from './relay-support.ts';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');

describe('the relay commands on a postgres:// URL', () => {
  test('an unreachable server, a database without a feed, a role without access: one line each, exit 69, 69 and 77, never the password', async () => {
    const refused = await runCli(['run', 'postgres://app:hunter2@127.0.0.1:1/app']);
    expect(refused.code).toBe(69);
    expect(refused.stderr).toMatch(/^audite: cannot connect to postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/app: the server is unreachable.*\n$/);
    expect(refused.stderr).not.toContain('hunter2');

    const { name } = await freshPgDatabase();
    const bare = new URL(pgUrl(name));
    bare.password = 'hunter2';
    const notEnabled = await runCli(['run', bare.toString()]);
    expect(notEnabled.code).toBe(69);
    expect(notEnabled.stderr).toMatch(
      /^audite: postgres:\/\/postgres:\*\*\*@.* has no change feed in schema audite; run `audite enable postgres:\/\/.*` first\n$/,
    );
    expect(notEnabled.stderr).not.toContain('hunter2');

    const fixture = await pgFeed();
    const role = await unprivilegedRole(fixture.name);
    const denied = await runCli(['run', pgUrl(fixture.name, role)]);
    expect(denied.code).toBe(77);
    expect(denied.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(denied.stderr).toMatch(/^audite: cannot read the change feed "audite"."changefeed": permission denied/);
  });

  test('audite run logs where it relays from without the password, delivers, and exits 0 on SIGTERM', async () => {
    const fixture = await pgFeed();
    await transaction(fixture.app, fixture.feed, [[1, 1]]);
    const url = new URL(fixture.url);
    url.password = 'hunter2';
    const child = spawn(process.execPath, [MAIN, 'run', url.toString(), '--log-level', 'info'], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(async () => stdout.includes('"subject":"1"'), 20_000, 'the event on stdout');
      const started = stderr.split('\n').find((l) => l.includes('relay started'));
      expect(JSON.parse(started ?? '{}')).toMatchObject({ database: expect.stringContaining(':***@127.0.0.1'), consumers: ['stdout'] });
      expect(stderr).not.toContain('hunter2');
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exit).toBe(0);
  });

  test('tail and deadletter list on PostgreSQL; --schema and AUDITE_SOURCE__POSTGRES__SCHEMA pick the schema', async () => {
    const fixture = await pgFeed('audit log');
    await transaction(fixture.app, fixture.feed, [
      [1, 1],
      [2, 1],
    ]);
    const tail = await runCli(['tail', fixture.url, '--from', 'beginning', '--no-follow', '--schema', 'audit log']);
    expect(tail.code).toBe(0);
    const events = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; type: string; subject: string; data: unknown });
    expect(events.map((e) => [e.id, e.type, e.subject])).toEqual([
      ['1', 'item.created', '1'],
      ['2', 'item.created', '2'],
    ]);
    expect(events[0]?.data).toEqual({ new: { id: 1, v: 1 } });
    const after = await runCli(['tail', fixture.url, '--from', '1', '--no-follow'], { env: { AUDITE_SOURCE__POSTGRES__SCHEMA: 'audit log' } });
    expect(after.stdout.trim().split('\n')).toHaveLength(1);
    const wrongSchema = await runCli(['tail', fixture.url, '--no-follow']);
    expect(wrongSchema.code).toBe(69);
    expect(wrongSchema.stderr).toContain('has no change feed in schema audite');

    const app = await pgApp(fixture.url);
    await app.query(
      `INSERT INTO ${qualified('audit log', 'deadletter')} (consumer, event_id, event, error, status, response) VALUES ('hook', 2, '{}', 'PermanentDeliveryError: HTTP 400', 400, 'bad')`,
    );
    const list = await runCli(['deadletter', 'list', fixture.url, '--schema', 'audit log']);
    expect(list).toMatchObject({ code: 0, stdout: '#1  consumer hook  event 2  status 400  PermanentDeliveryError: HTTP 400\n' });
    const json = await runCli(['deadletter', 'list', fixture.url, '--schema', 'audit log', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([
      { id: 1, consumer: 'hook', eventId: 2, error: 'PermanentDeliveryError: HTTP 400', status: 400, createdAt: expect.any(Number) },
    ]);
  });

  test('deadletter replay on PostgreSQL sends refused events again through the configured sink and removes them once acknowledged', async () => {
    const fixture = await pgFeed();
    const receiver = await startReceiver();
    receiver.enqueue('ok', 'badRequest');
    const sinks = [{ type: 'http', name: 'hook', url: receiver.url, onPermanentFailure: 'dead-letter' }];
    const relay = await runRelay(testConfig({ database: fixture.url, sinks }));
    try {
      for (let i = 1; i <= 3; i++) await transaction(fixture.app, fixture.feed, [[i, 1]]);
      await eventually(async () => (await pgCursorOf(fixture, 'hook')) === 3, 20_000, 'delivery');
    } finally {
      await relay.stop();
    }
    const list = await runCli(['deadletter', 'list', fixture.url]);
    expect(list.stdout).toMatch(/^#1 {2}consumer hook {2}event 2 {2}status 400 {2}.*HTTP 400/);
    const config = join(tempDir(), 'audite.json');
    writeFileSync(config, JSON.stringify({ database: fixture.url, sinks }));
    const replay = await runCli(['deadletter', 'replay', '--config', config]);
    expect(replay).toMatchObject({ code: 0, stdout: 'replayed 1 dead letter(s)\n' });
    const replayed = receiver.requests.at(-1);
    expect(replayed?.headers['ce-id']).toBe('2');
    expect(JSON.parse(replayed?.body ?? '')).toEqual({ new: { id: 2, v: 1 } });
    expect((await runCli(['deadletter', 'list', fixture.url])).stdout).toBe('no dead letters\n');
  });

  test('the relay adds the cursor and dead-letter tables when an older install lacks them', async () => {
    const fixture = await pgFeed();
    await fixture.app.query(`DROP TABLE ${fixture.cursor}, ${qualified('audite', 'deadletter')}`);
    const reset = await runCli(['cursor', 'reset', fixture.url, 'hook', '--to', 'start']);
    expect(reset).toMatchObject({ code: 0, stdout: 'consumer hook now at position 0 (head 0)\n' });
    const tables = await fixture.app.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'audite' AND tablename IN ('cursor', 'deadletter')`);
    expect(tables.rows[0]).toEqual({ n: 2 });
    expect(pgFeedObjects('audite').some((o) => o.name === 'cursor')).toBe(true);
  });
});
