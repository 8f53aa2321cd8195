// PostgreSQL capture write overhead: the same writes with and without capture
// triggers, side by side in one run. Every round gives each variant a fresh
// database and the variants take turns statement by statement (interleaved),
// so machine noise hits all alike; the median of the rounds is reported. Single-row
// writes are pgbench-style (one statement per autocommit transaction, one
// connection per variant); bulk writes are one statement over 1,000 rows.
// Run standalone: `node bench/pg-capture-overhead.ts` (AUDITE_BENCH_PG_URL
// names the server, default postgres://postgres@127.0.0.1:5432/postgres).
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { enablePostgres } from '../src/capture/postgres/pg-enable.ts';
import type { PgClient } from '../src/postgres/pg-client.ts';
import { CellSamples, overheadTable } from './support/overhead-table.ts';

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
  /** Timed statements, each its own autocommit transaction. */
  steps: number;
  rowsPerStep: number;
  step: (client: pg.Client, i: number) => Promise<unknown>;
}

const bulkRange = (i: number): [number, number] => [i * BULK_ROWS + 1, (i + 1) * BULK_ROWS];

const WORKLOADS: Workload[] = [
  {
    name: `bulk insert (INSERT … SELECT of ${BULK_ROWS} rows)`,
    preload: 0,
    steps: BULK_STATEMENTS,
    rowsPerStep: BULK_ROWS,
    step: (c, i) => c.query(`INSERT INTO customer SELECT ${ROW_SQL('g')} FROM generate_series($1::bigint, $2::bigint) AS g`, bulkRange(i)),
  },
  {
    name: 'single-row insert (autocommit)',
    preload: 0,
    steps: SINGLE,
    rowsPerStep: 1,
    step: (c, i) =>
      c.query({
        name: 'ins',
        text: 'INSERT INTO customer VALUES ($1, $2, $3, $4, $5)',
        values: [i + 1, `customer.${i + 1}@example.com`, (i + 1) / 100, i % 500, Buffer.alloc(16, i % 256)],
      }),
  },
  {
    name: `bulk update (${BULK_ROWS} rows per statement)`,
    preload: BULK,
    steps: BULK_STATEMENTS,
    rowsPerStep: BULK_ROWS,
    step: (c, i) => c.query('UPDATE customer SET balance = balance + 1, visits = visits + 1 WHERE id BETWEEN $1 AND $2', bulkRange(i)),
  },
  {
    name: 'single-row update (autocommit)',
    preload: SINGLE,
    steps: SINGLE,
    rowsPerStep: 1,
    step: (c, i) => c.query({ name: 'upd', text: 'UPDATE customer SET balance = balance + 1, visits = visits + 1 WHERE id = $1', values: [i + 1] }),
  },
  {
    name: `bulk delete (${BULK_ROWS} rows per statement)`,
    preload: BULK,
    steps: BULK_STATEMENTS,
    rowsPerStep: BULK_ROWS,
    step: (c, i) => c.query('DELETE FROM customer WHERE id BETWEEN $1 AND $2', bulkRange(i)),
  },
  {
    name: 'single-row delete (autocommit)',
    preload: SINGLE,
    steps: SINGLE,
    rowsPerStep: 1,
    step: (c, i) => c.query({ name: 'del', text: 'DELETE FROM customer WHERE id = $1', values: [i + 1] }),
  },
];

function urlFor(database: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

/**
 * One round of a workload: a fresh database per variant (preload, triggers,
 * checkpoint), then the variants take turns statement by statement, so a
 * burst of disk or CPU noise (commits wait for fsync) hits them all alike.
 * Returns µs per row, by variant.
 */
async function measure(admin: pg.Client, workload: Workload, round: number): Promise<number[]> {
  const cells: { name: string; client: pg.Client; variant: Variant; micros: number }[] = [];
  for (const variant of VARIANTS) {
    const name = `audite_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
    await admin.query(`CREATE DATABASE "${name}"`);
    cells.push({ name, client: new pg.Client({ connectionString: urlFor(name) }), variant, micros: 0 });
  }
  try {
    for (const cell of cells) {
      await cell.client.connect();
      await cell.client.query(TABLE_DDL);
      if (workload.preload > 0) await cell.client.query(`INSERT INTO customer SELECT ${ROW_SQL('g')} FROM generate_series(1, ${workload.preload}) AS g`);
      await cell.client.query('VACUUM ANALYZE customer');
      await cell.variant.install(cell.client);
    }
    await admin.query('CHECKPOINT');
    for (let i = 0; i < workload.steps; i += 1) {
      // Rotate who goes first, so no variant always follows another's commit.
      for (let k = 0; k < cells.length; k += 1) {
        const cell = cells[(i + k + round) % cells.length]!;
        const start = process.hrtime.bigint();
        await workload.step(cell.client, i);
        cell.micros += Number(process.hrtime.bigint() - start) / 1000;
      }
    }
    return cells.map((cell) => cell.micros / (workload.steps * workload.rowsPerStep));
  } finally {
    for (const cell of cells) {
      await cell.client.end().catch(() => {});
      await admin.query(`DROP DATABASE IF EXISTS "${cell.name}" WITH (FORCE)`);
    }
  }
}

export async function runPgCaptureBench(options: { rounds?: number } = {}): Promise<string> {
  const rounds = options.rounds ?? 7;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const started = Date.now();
  try {
    const results = new CellSamples();
    for (let round = 0; round < rounds; round += 1) {
      for (const workload of WORKLOADS) {
        const micros = await measure(admin, workload, round);
        VARIANTS.forEach((variant, i) => {
          results.add(workload.name, variant.name, micros[i]!);
        });
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    const { rows } = await admin.query<{ version: string; sync: string; fsync: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sync, current_setting('fsync') AS fsync",
    );
    const server = rows[0]!;
    const lines = overheadTable(WORKLOADS, VARIANTS, results);
    return [
      `PostgreSQL capture write overhead: table \`customer\` (id bigint PRIMARY KEY, email text, balance numeric(12,2), visits integer, token bytea(16)), PostgreSQL ${server.version} (fsync=${server.fsync}, synchronous_commit=${server.sync}) on 127.0.0.1, node-postgres, Node ${process.versions.node}.`,
      `µs per row written (ratio to no triggers); median of ${rounds} rounds, each a fresh database per variant, the variants taking turns statement by statement; bulk = ${BULK_STATEMENTS} statements of ${BULK_ROWS.toLocaleString('en-US')} rows, single-row = ${SINGLE.toLocaleString('en-US')} autocommit statements, one connection per variant; ${seconds} s in all.`,
      '`audite (default)`: statement-level INSERT/UPDATE/DELETE triggers over transition tables; `row-level UPDATE` and `all row-level`: the same capture fired per row instead, for comparison.',
      '',
      ...lines,
    ].join('\n');
  } finally {
    await admin.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(await runPgCaptureBench());
}
