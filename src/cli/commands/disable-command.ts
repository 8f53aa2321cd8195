import type { Command } from 'commander';
import { disable } from '../../capture/disable.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import { print, type CliIo } from '../io.ts';
import { busyTimeoutOption, parseBusyTimeout } from '../options.ts';

export function registerDisable(program: Command, io: CliIo): void {
  program
    .command('disable')
    .description('remove the capture triggers (the feed stays unless --drop-tables)')
    .argument('<db>', 'SQLite database file')
    .option('--drop-tables', 'also drop the change feed, cursors and every other audite_ table')
    .option('--dry-run', 'print the SQL instead of running it')
    .addOption(busyTimeoutOption())
    .action((file: string, flags: { dropTables?: boolean; dryRun?: boolean; busyTimeout?: string }) => {
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
