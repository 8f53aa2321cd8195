import type { Command } from 'commander';
import { disable } from '../../capture/disable.ts';
import { disablePostgres } from '../../capture/postgres/pg-disable.ts';
import { DEFAULT_PG_SCHEMA } from '../../capture/postgres/pg-feed-schema.ts';
import { AuditeError } from '../../errors.ts';
import { connectPostgres } from '../../postgres/connect.ts';
import { isPostgresUrl } from '../../postgres/database-url.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import { print, type CliIo } from '../io.ts';
import { busyTimeoutOption, parseBusyTimeout } from '../options.ts';

interface DisableFlags {
  dropTables?: boolean;
  dryRun?: boolean;
  busyTimeout?: string;
  schema?: string;
}

export function registerDisable(program: Command, io: CliIo): void {
  program
    .command('disable')
    .description('remove the capture triggers (the feed stays unless --drop-tables)')
    .argument('<db>', 'SQLite database file, or a postgres:// URL')
    .option('--drop-tables', 'also drop the change feed, cursors and every other audite_ table')
    .option('--dry-run', 'print the SQL instead of running it')
    .addOption(busyTimeoutOption())
    .option('--schema <name>', `PostgreSQL: the schema audite installed into (default ${DEFAULT_PG_SCHEMA})`)
    .action(async (file: string, flags: DisableFlags) => {
      if (isPostgresUrl(file)) return disablePg(file, flags, io);
      if (flags.schema !== undefined) throw new AuditeError('INVALID_ARGUMENT', '--schema applies to PostgreSQL URLs only');
      const db = openDatabase(file, { busyTimeoutMs: parseBusyTimeout(flags.busyTimeout) });
      try {
        const result = disable(db, { dropTables: flags.dropTables ?? false, dryRun: flags.dryRun ?? false });
        if (flags.dryRun) {
          for (const sql of result.statements) print(io.stdout, `${sql};`);
          return;
        }
        print(io.stdout, result.statements.length === 0 ? 'nothing to remove' : `disabled: removed ${result.statements.length} object(s)`);
      } finally {
        db.close();
      }
    });
}

async function disablePg(url: string, flags: DisableFlags, io: CliIo): Promise<void> {
  const lockTimeoutMs = parseBusyTimeout(flags.busyTimeout);
  const client = await connectPostgres(url, { applicationName: 'audite disable' });
  try {
    const result = await disablePostgres(client, {
      schema: flags.schema ?? DEFAULT_PG_SCHEMA,
      dropTables: flags.dropTables ?? false,
      dryRun: flags.dryRun ?? false,
      lockTimeoutMs,
    });
    for (const notice of result.notices) print(io.stderr, `notice: ${notice}`);
    if (flags.dryRun) {
      for (const sql of result.statements) print(io.stdout, `${sql};`);
      return;
    }
    print(io.stdout, result.statements.length === 0 ? 'nothing to remove' : `disabled: removed ${result.statements.length} object(s)`);
  } finally {
    await client.end();
  }
}
