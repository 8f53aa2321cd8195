// PostgreSQL capture write overhead: the same writes with and without capture
// triggers, side by side in one run. Variants are interleaved, every cell gets
// a fresh database, and the median of the rounds is reported. Single-row
// writes are pgbench-style (one statement per autocommit transaction, one
// connection); bulk writes are one statement over 1,000 rows.
// Run standalone: `node bench/pg-capture-overhead.ts` (AUDITE_BENCH_PG_URL
// names the server, default postgres://postgres@127.0.0.1:5432/postgres).
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { enablePostgres } from '../src/capture/postgres/pg-enable.ts';
import type { PgClient } from '../src/postgres/pg-client.ts';

const ADMIN_URL = process.env.AUDITE_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const TABLE_DDL = 'CREATE TABLE customer (id bigint PRIMARY KEY, email text NOT NULL, balance numeric(12, 2), visits integer, token bytea)';

interface Variant {
  name: string;
  install: (client: pg.Client) => Promise<void>;
}

const asPgClient = (client: pg.Client): PgClient => ({
  query: async <R>(text: string, values?: readonly unknown[]) => {
    const r = await client.query(text, values as unknown[] | undefined);
    return { rows: r.rows as R[], rowCount: r.rowCount };
  },
  end: () => client.end(),
  onError: () => {},
});

const VARIANTS: Variant[] = [
  { name: 'no triggers', install: async () => {} },
  { name: 'audite (default)', install: async (c) => void (await enablePostgres(asPgClient(c), { tables: ['customer'] })) },
  {
    name: 'row-level UPDATE',
    install: async (c) => void (await enablePostgres(asPgClient(c), { tables: ['customer'], rowLevelTriggers: 'update' })),
  },
  {
    name: 'all row-level',
    install: async (c) => void (await enablePostgres(asPgClient(c), { tables: ['customer'], rowLevelTriggers: 'all' })),
  },
  { name: '--history-indexes', install: async (c) => void (await enablePostgres(asPgClient(c), { tables: ['customer'], historyIndexes: true })) },
];

const SINGLE = 2_000;
const BULK_ROWS = 1_000;
const BULK_STATEMENTS = 20;
const BULK = BULK_ROWS * BULK_STATEMENTS;

// Deterministic column values from the id, so every variant writes the same bytes.
const ROW_SQL = (id: string): string =>
  `${id}, 'customer.' || ${id} || '@example.com', (${id} % 100000) / 100.0, (${id} % 500)::int, decode(md5(${id}::text), 'hex')`;

interface Workload {
  name: string;
  /** Rows present before the timed part (ids 1..preload). */
  preload: number;
  ops: number;
  run: (client: pg.Client) => Promise<void>;
}

const WORKLOADS: Workload[] = [
  {
    name: `bulk insert (INSERT … SELECT of ${BULK_ROWS} rows)`,
    preload: 0,
    ops: BULK,
    run: async (c) => {
      for (let i = 0; i < BULK_STATEMENTS; i += 1)
        await c.query(`INSERT INTO customer SELECT ${ROW_SQL('g')} FROM generate_series($1::bigint, $2::bigint) AS g`, [
          i * BULK_ROWS + 1,
          (i + 1) * BULK_ROWS,
        ]);
    },
  },
  {
    name: 'single-row insert (autocommit)',
    preload: 0,
    ops: SINGLE,
    run: async (c) => {
      for (let i = 1; i <= SINGLE; i += 1)
        await c.query({
          name: 'ins',
          text: 'INSERT INTO customer VALUES ($1, $2, $3, $4, $5)',
          values: [i, `customer.${i}@example.com`, i / 100, i % 500, randomBytes(16)],
        });
    },
  },
  {
    name: `bulk update (${BULK_ROWS} rows per statement)`,
    preload: BULK,
    ops: BULK,
    run: async (c) => {
      for (let i = 0; i < BULK_STATEMENTS; i += 1)
        await c.query('UPDATE customer SET balance = balance + 1, visits = visits + 1 WHERE id BETWEEN $1 AND $2', [i * BULK_ROWS + 1, (i + 1) * BULK_ROWS]);
    },
  },
  {
    name: 'single-row update (autocommit)',
    preload: SINGLE,
    ops: SINGLE,
    run: async (c) => {
      for (let i = 1; i <= SINGLE; i += 1)
        await c.query({ name: 'upd', text: 'UPDATE customer SET balance = balance + 1, visits = visits + 1 WHERE id = $1', values: [i] });
    },
  },
  {
    name: `bulk delete (${BULK_ROWS} rows per statement)`,
    preload: BULK,
    ops: BULK,
    run: async (c) => {
      for (let i = 0; i < BULK_STATEMENTS; i += 1) await c.query('DELETE FROM customer WHERE id BETWEEN $1 AND $2', [i * BULK_ROWS + 1, (i + 1) * BULK_ROWS]);
    },
  },
  {
    name: 'single-row delete (autocommit)',
    preload: SINGLE,
    ops: SINGLE,
    run: async (c) => {
      for (let i = 1; i <= SINGLE; i += 1) await c.query({ name: 'del', text: 'DELETE FROM customer WHERE id = $1', values: [i] });
    },
  },
];

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/** One cell: a fresh database, the preload, the variant's triggers, a checkpoint, then the timed writes. µs per row. */
async function measure(admin: pg.Client, variant: Variant, workload: Workload): Promise<number> {
  const name = `audite_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE "${name}"`);
  const client = new pg.Client({ connectionString: urlFor(name) });
  try {
    await client.connect();
    await client.query(TABLE_DDL);
    if (workload.preload > 0) await client.query(`INSERT INTO customer SELECT ${ROW_SQL('g')} FROM generate_series(1, ${workload.preload}) AS g`);
    await client.query('VACUUM ANALYZE customer');
    await variant.install(client);
    await client.query('CHECKPOINT');
    const start = process.hrtime.bigint();
    await workload.run(client);
    return Number(process.hrtime.bigint() - start) / 1000 / workload.ops;
  } finally {
    await client.end();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function runPgCaptureBench(options: { rounds?: number } = {}): Promise<string> {
  const rounds = options.rounds ?? 5;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const started = Date.now();
  try {
    const results = new Map<string, number[]>();
    for (let round = 0; round < rounds; round += 1) {
      for (const workload of WORKLOADS) {
        // Rotate the variant order each round so no variant always runs first (cold) or last.
        const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
        for (const variant of order) {
          const key = `${workload.name}\u0000${variant.name}`;
          results.set(key, [...(results.get(key) ?? []), await measure(admin, variant, workload)]);
        }
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const { rows } = await admin.query<{ version: string; sync: string; fsync: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync, current_setting('fsync') AS fsync",
    );
    const server = rows[0]!;
    const header = `| workload | ${VARIANTS.map((v) => v.name).join(' | ')} |`;
    const rule = `|---|${VARIANTS.map(() => '---:').join('|')}|`;
    const lines = WORKLOADS.map((workload) => {
      const base = median(results.get(`${workload.name}\u0000${VARIANTS[0]!.name}`) ?? []);
      const cells = VARIANTS.map((variant, i) => {
        const us = median(results.get(`${workload.name}\u0000${variant.name}`) ?? []);
        return i === 0 ? `${us.toFixed(2)} µs` : `${us.toFixed(2)} µs (${(us / base).toFixed(2)}×)`;
      });
      return `| ${workload.name} | ${cells.join(' | ')} |`;
    });
    return [
      `PostgreSQL capture write overhead: table \`customer\` (id bigint PRIMARY KEY, email text, balance numeric(12,2), visits integer, token bytea(16)), PostgreSQL ${server.version} (fsync=${server.fsync}, synchronous_commit=${server.sync}) on 127.0.0.1, node-postgres, Node ${process.versions.node}.`,
      `µs per row written (ratio to no triggers); median of ${rounds} interleaved rounds, a fresh database per cell; bulk = ${BULK_STATEMENTS} statements of ${BULK_ROWS.toLocaleString('en-US')} rows, single-row = ${SINGLE.toLocaleString('en-US')} autocommit statements on one connection; ${seconds} s in all.`,
      '`audite (default)`: statement-level INSERT/UPDATE/DELETE triggers over transition tables; `row-level UPDATE` and `all row-level`: the same capture fired per row instead, for comparison.',
      '',
      header,
      rule,
      ...lines,
    ].join('\n');
  } finally {
    await admin.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await runPgCaptureBench());
}
