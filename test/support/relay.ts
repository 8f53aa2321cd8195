import Database from 'better-sqlite3';
import { Writable } from 'node:stream';
import { afterEach, expect } from 'vitest';
import { enable } from '../../src/capture/enable.ts';
import { configSchema, type Config } from '../../src/config/config-schema.ts';
import { silentLogger } from '../../src/relay/logger.ts';
import { startRelay, type Relay } from '../../src/relay/relay.ts';
import type { SqliteDatabase } from '../../src/sqlite/sqlite-database.ts';
import { tempDbPath } from './temp.ts';

const running = new Set<Relay>();

// A relay still polling after its test is a leak: stop it, then fail the test.
afterEach(async () => {
  const leaked = [...running];
  running.clear();
  await Promise.all(leaked.map((r) => r.stop()));
  expect(leaked.length, 'relay(s) left running after the test').toBe(0);
});

/** A fresh enabled database with a small `item` table; returns its path and an app connection. */
export function appDatabase(ddl = 'CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT, qty INTEGER)'): { file: string; app: Database.Database } {
  const file = tempDbPath();
  const app = new Database(file);
  app.pragma('journal_mode = WAL');
  app.pragma('busy_timeout = 5000');
  app.exec(ddl);
  enable(app as unknown as SqliteDatabase);
  return { file, app };
}

export function testConfig(input: Record<string, unknown>): Config {
  return configSchema.parse({ source: { pollIntervalMs: 2 }, shutdown: { graceMs: 2000 }, ...input });
}

/** Collects what a stdout sink writes. */
export function memoryStream(): { stream: Writable; lines: () => string[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l.length > 0) };
}

export async function runRelay(config: Config, stdout: Writable = memoryStream().stream): Promise<Relay> {
  const relay = await startRelay(config, { logger: silentLogger, env: {}, stdout });
  running.add(relay);
  const stop = relay.stop;
  return {
    ...relay,
    done: relay.done,
    stop: async () => {
      running.delete(relay);
      await stop();
    },
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function cursorOf(app: Database.Database, consumer: string): number | undefined {
  return app.prepare('SELECT position FROM audite_cursor WHERE consumer = ?').pluck().get(consumer) as number | undefined;
}
