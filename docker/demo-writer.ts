// docker-compose's demo app: creates a SQLite database on the shared volume, enables
// capture on it, then keeps changing it (customers and their orders: inserts,
// updates, deletes, each with who/why context) until stopped.
//   node docker/demo-writer.ts [db] [intervalMs]     (needs dist/: the image has it; in the repo, npm run build)
// Touches `<db>.ready` once capture is enabled: the compose healthcheck waits for it,
// so the relay never starts on a database without a change feed.
import { writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { enable, withContext, type SqliteDatabase } from '../dist/index.js';

const [file = '/data/app.db', interval = '500'] = process.argv.slice(2);
const db = new Database(file);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
db.exec(`
  CREATE TABLE IF NOT EXISTS customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE, balance INTEGER NOT NULL DEFAULT 0);
  CREATE TABLE IF NOT EXISTS "order" (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, total_cents INTEGER NOT NULL, status TEXT NOT NULL);
`);
const app = db as unknown as SqliteDatabase;
enable(app);
writeFileSync(`${file}.ready`, new Date().toISOString());
console.error(`demo writer: capture enabled on ${file}; one change every ${interval} ms`);

const actors = ['alice', 'bob', 'carol'];
const statuses = ['placed', 'paid', 'shipped'];
let n = 0;

function change(): void {
  const customer = (n % 5) + 1;
  withContext(app, { actor: actors[n % actors.length], reason: 'demo' }, () => {
    if (db.prepare('SELECT 1 FROM customer WHERE id = ?').get(customer) === undefined) {
      db.prepare('INSERT INTO customer (id, name, email) VALUES (?, ?, ?)').run(customer, `Customer ${customer}`, `c${customer}@example.com`);
    } else if (n % 11 === 10) {
      // The delete event, then (with tombstones on) a null-value record for compacted topics.
      db.prepare('DELETE FROM "order" WHERE customer_id = ?').run(customer);
      db.prepare('DELETE FROM customer WHERE id = ?').run(customer);
    } else if (n % 3 === 0) {
      db.prepare('INSERT INTO "order" (customer_id, total_cents, status) VALUES (?, ?, ?)').run(customer, 1000 + n, statuses[0]);
    } else {
      db.prepare('UPDATE customer SET balance = balance + ? WHERE id = ?').run(10 * n, customer);
      db.prepare('UPDATE "order" SET status = ? WHERE customer_id = ? AND status != ?').run(statuses[(n % 2) + 1], customer, 'shipped');
    }
  });
  n += 1;
}

const timer = setInterval(change, Number(interval));
const stop = (): void => {
  clearInterval(timer);
  db.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
