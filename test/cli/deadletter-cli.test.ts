import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { runCli } from '../support/cli.ts';
import { startReceiver } from '../support/http-receiver.ts';
import { appDatabase, cursorOf, runRelay, testConfig, waitFor } from '../support/relay.ts';
import { tempDir } from '../support/temp.ts';

test('deadletter list shows refused events, and replay sends them again and removes them once acknowledged', async () => {
  const { file, app } = appDatabase();
  const receiver = await startReceiver();
  receiver.enqueue({ status: 422, body: 'rejected' });
  app.prepare("INSERT INTO item (id, name, qty) VALUES (1, 'a', 1), (2, 'b', 2)").run();
  const sink = { type: 'http', name: 'hook', url: receiver.url, onPermanentFailure: 'dead-letter' };
  const relay = await runRelay(testConfig({ database: file, sinks: [sink] }));
  await waitFor(() => cursorOf(app, 'hook') === 2, 10_000, 'both events past the cursor');
  await relay.stop();
  expect(receiver.delivered().map((r) => r.headers['ce-id'])).toEqual(['2']);

  const list = await runCli(['deadletter', 'list', file]);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/consumer hook {2}event 1 {2}status 422/);
  const status = await runCli(['status', file, '--json']);
  expect(status.stdout).toContain('"deadLetters": 1');

  const config = join(tempDir(), 'audite.json');
  writeFileSync(config, JSON.stringify({ database: file, sinks: [sink] }));
  const replay = await runCli(['deadletter', 'replay', '--config', config]);
  expect(replay.code).toBe(0);
  expect(replay.stdout).toContain('replayed 1 dead letter(s)');
  expect(receiver.delivered().map((r) => r.headers['ce-id'])).toEqual(['2', '1']);
  expect(app.prepare('SELECT count(*) FROM audite_deadletter').pluck().get()).toBe(0);
});
