import type { Command } from 'commander';
import { DEFAULT_PG_SCHEMA } from '../../capture/postgres/pg-feed-schema.ts';
import { readPgStatus } from '../../capture/postgres/pg-status.ts';
import { AuditeError } from '../../errors.ts';
import { readStatus } from '../../ops/status.ts';
import { connectPostgres } from '../../postgres/connect.ts';
import { isPostgresUrl, redactUrl } from '../../postgres/database-url.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import { print, type CliIo } from '../io.ts';

interface StatusFlags {
  json?: boolean;
  schema?: string;
}

export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('tracked tables, stale triggers, feed size, snapshot progress, and per consumer: position, lag, last delivery, errors, dead letters')
    .argument('<db>', 'SQLite database file, or a postgres:// URL')
    .option('--json', 'machine-readable output')
    .option('--schema <name>', `PostgreSQL: the schema audite installed into (default ${DEFAULT_PG_SCHEMA})`)
    .action(async (file: string, flags: StatusFlags) => {
      if (isPostgresUrl(file)) return statusPg(file, flags, io);
      if (flags.schema !== undefined) throw new AuditeError('INVALID_ARGUMENT', '--schema applies to PostgreSQL URLs only');
      const db = openDatabase(file, { readonly: true });
      try {
        const status = readStatus(db);
        if (flags.json) {
          print(io.stdout, JSON.stringify(status, null, 2));
          return;
        }
        print(io.stdout, `tables:    ${status.tables.length === 0 ? '(none)' : status.tables.join(', ')}`);
        print(io.stdout, `stale:     ${status.stale.length === 0 ? '(none)' : `${status.stale.join(', ')}  → run \`audite enable ${file}\``}`);
        for (const problem of status.problems) print(io.stdout, `problem:   ${problem}`);
        const { feed } = status;
        print(
          io.stdout,
          `feed:      ${feed.events} event(s), head id ${feed.headId}, oldest id ${feed.oldestId ?? '-'}, oldest ${feed.oldest ?? '-'}, newest ${feed.newest ?? '-'}`,
        );
        if (status.snapshot !== null) {
          const run = status.snapshot;
          const state = run.finishedAt === null ? `unfinished (run \`audite snapshot ${file}\` to resume)` : `finished ${run.finishedAt}`;
          print(io.stdout, `snapshot:  ${run.rows} row(s) of ${run.tables.join(', ')}, started ${run.startedAt}, ${state}`);
        }
        printConsumers(io, status.consumers);
      } finally {
        db.close();
      }
    });
}

async function statusPg(url: string, flags: StatusFlags, io: CliIo): Promise<void> {
  const client = await connectPostgres(url, { applicationName: 'audite status' });
  try {
    const status = await readPgStatus(client, { schema: flags.schema ?? DEFAULT_PG_SCHEMA });
    if (flags.json) {
      print(io.stdout, JSON.stringify(status, null, 2));
      return;
    }
    const schemaFlag = status.schema === DEFAULT_PG_SCHEMA ? '' : ` --schema ${status.schema}`;
    print(io.stdout, `schema:    ${status.schema}`);
    print(io.stdout, `tables:    ${status.tables.length === 0 ? '(none)' : status.tables.join(', ')}`);
    print(
      io.stdout,
      `stale:     ${status.stale.length === 0 ? '(none)' : `${status.stale.join(', ')}  → run \`audite enable ${redactUrl(url)}${schemaFlag}\``}`,
    );
    for (const problem of status.problems) print(io.stdout, `problem:   ${problem}`);
    const { feed } = status;
    print(
      io.stdout,
      `feed:      ${feed.events} event(s), head id ${feed.headId}, oldest id ${feed.oldestId ?? '-'}, oldest ${feed.oldest ?? '-'}, newest ${feed.newest ?? '-'}`,
    );
    const oldest = status.oldestTransaction;
    print(
      io.stdout,
      oldest === null
        ? 'holding:   (none)'
        : `holding:   ${oldest.prepared ? `prepared transaction ${JSON.stringify(oldest.applicationName)}` : `pid ${oldest.pid} (${oldest.applicationName || 'no application_name'}, ${oldest.state ?? 'unknown state'})`}, open ${Math.round(oldest.ageSeconds)} s: events committed after it wait until it ends`,
    );
    printConsumers(io, status.consumers);
  } finally {
    await client.end();
  }
}

interface ConsumerLine {
  consumer: string;
  position: number;
  lag: number;
  lagSeconds: number;
  lastDeliveryAt: string | null;
  deadLetters: number;
  halted: boolean;
  lastError: string | null;
}

/** One line per consumer, the same for both databases. */
function printConsumers(io: CliIo, consumers: readonly ConsumerLine[]): void {
  if (consumers.length === 0) print(io.stdout, 'consumers: (none)');
  for (const c of consumers) {
    print(
      io.stdout,
      `consumer:  ${c.consumer}  position ${c.position}  lag ${c.lag} event(s), ${c.lagSeconds} s  last delivery ${c.lastDeliveryAt ?? '-'}  dead letters ${c.deadLetters}${c.halted ? '  HALTED' : ''}`,
    );
    if (c.lastError !== null) print(io.stdout, `           last error: ${c.lastError}`);
  }
}
