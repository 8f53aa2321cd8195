import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type { Command } from 'commander';
import { withContext } from '../../capture/context.ts';
import { enable } from '../../capture/enable.ts';
import { configSchema } from '../../config/config-schema.ts';
import { startRelay } from '../../relay/relay.ts';
import type { SqliteDatabase } from '../../sqlite/sqlite-database.ts';
import { print, type CliIo } from '../io.ts';
import { cliLogger } from '../run-relay.ts';

/**
 * The embedded default: a demo database that a small writer keeps changing,
 * relayed to stdout. Creating the file is the point here, so unlike every
 * other command it may create one.
 */
export function registerDemo(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('create a demo database, keep changing it, and relay its feed to stdout (Ctrl-C to stop)')
    .argument('[db]', 'demo database file', 'audite-demo.db')
    .option('--changes <n>', 'stop after this many changes have been relayed')
    .option('--interval <ms>', 'pause between changes', '500')
    .action(async (file: string, flags: { changes?: string; interval: string }) => {
      const limit = flags.changes === undefined ? Number.POSITIVE_INFINITY : Number(flags.changes);
      const created = !existsSync(file);
      const app = new Database(file);
      app.pragma('busy_timeout = 5000');
      app.exec('CREATE TABLE IF NOT EXISTS customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, balance INTEGER NOT NULL DEFAULT 0)');
      enable(app as unknown as SqliteDatabase);
      if (created) print(io.stderr, `created ${file}; its changes follow as CloudEvents, one JSON per line`);
      const config = configSchema.parse({ database: file, source: { startFrom: 'end' }, log: { level: 'warn' } });
      const relay = await startRelay(config, { logger: cliLogger(config, io), env: io.env, stdout: io.stdout });
      const stop = (): void => void relay.stop();
      io.shutdown.addEventListener('abort', stop, { once: true });
      try {
        for (let n = 0; n < limit && !io.shutdown.aborted; n++) {
          change(app, n);
          await sleep(Number(flags.interval), undefined, { signal: io.shutdown }).catch(() => {});
        }
        // With --changes: wait until the relay has delivered everything written, then stop.
        const head = app.prepare('SELECT coalesce(max(id), 0) FROM audite_changefeed').pluck();
        const position = app.prepare("SELECT position FROM audite_cursor WHERE consumer = 'stdout'").pluck();
        while (!io.shutdown.aborted && (position.get() as number) < (head.get() as number)) await sleep(20);
      } finally {
        io.shutdown.removeEventListener('abort', stop);
        await relay.stop();
        app.close();
      }
    });
}

function change(app: Database.Database, n: number): void {
  const id = (n % 5) + 1;
  const actor = ['alice', 'bob', 'carol'][n % 3] as string;
  withContext(app as unknown as SqliteDatabase, { actor, reason: 'demo' }, () => {
    const exists = app.prepare('SELECT 1 FROM customer WHERE id = ?').get(id) !== undefined;
    if (!exists) app.prepare('INSERT INTO customer (id, name, email) VALUES (?, ?, ?)').run(id, `Customer ${id}`, `c${id}@example.com`);
    else if (n % 7 === 6) app.prepare('DELETE FROM customer WHERE id = ?').run(id);
    else app.prepare('UPDATE customer SET balance = balance + ? WHERE id = ?').run(10 * (n + 1), id);
  });
}
