// A separate app process that keeps changing rows across tables until killed.
// Usage: node writer-process.ts <db> [intervalMs]
import Database from 'better-sqlite3';

const [file, interval = '2'] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: writer-process.ts <db> [intervalMs]');
const db = new Database(file);
db.pragma('busy_timeout = 10000');
const tables = ['account', 'invoice', 'note'];
let n = 0;
const tick = (): void => {
  const table = tables[n % tables.length] as string;
  const id = (n % 17) + 1;
  // IMMEDIATE: a deferred read-then-write transaction fails with SQLITE_BUSY when any
  // other connection (here, the relay's checkpoint) commits between its read and write.
  db.transaction(() => {
    const exists = db.prepare(`SELECT 1 FROM ${table} WHERE id = ?`).get(id) !== undefined;
    if (!exists) db.prepare(`INSERT INTO ${table} (id, v) VALUES (?, ?)`).run(id, n);
    else if (n % 5 === 0) db.prepare(`DELETE FROM ${table} WHERE id = ?`).run(id);
    else db.prepare(`UPDATE ${table} SET v = ? WHERE id = ?`).run(n, id);
  }).immediate();
  n += 1;
  setTimeout(tick, Number(interval));
};
process.on('SIGTERM', () => {
  db.close();
  process.exit(0);
});
tick();
