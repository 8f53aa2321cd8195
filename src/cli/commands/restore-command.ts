import type { Command } from 'commander';
import type { RestorePreview } from '../../history/audit-store.ts';
import { parseAsOf } from '../../history/get-event.ts';
import { renderDiff, renderRow } from '../../history/history-format.ts';
import { openAuditStore } from '../../history/open-audit-store.ts';
import type { RestoreOptions } from '../../history/restore-plan.ts';
import { print, type CliIo } from '../io.ts';
import { busyTimeoutOption, parseBusyTimeout } from '../options.ts';

interface RestoreFlags {
  to: string;
  actor?: string;
  dryRun?: boolean;
  busyTimeout?: string;
  schema?: string;
}

export function registerRestore(program: Command, io: CliIo): void {
  program
    .command('restore')
    .description('bring one row back to an earlier version (undeleting it if need be); the restore is itself recorded')
    .argument('<db>', 'SQLite database file, or a postgres:// URL')
    .argument('<table>', 'the table')
    .argument('<key>', "the row's key as history shows it (compound keys joined by ':')")
    .requiredOption('--to <event-id|time>', 'the version: as of an event id (42), or a time (ISO-8601, UTC unless a zone is given, or @unix-seconds)')
    .option('--actor <name>', 'who restores, recorded in the context (reason is always "restore")')
    .option('--dry-run', 'print the SQL and change nothing')
    .addOption(busyTimeoutOption())
    .option('--schema <name>', "PostgreSQL: the schema audite's feed lives in (default audite)")
    .addHelpText(
      'after',
      `
Examples:
  audite restore app.db users 42 --to 17 --dry-run
  audite restore app.db users 42 --to 2024-05-01T09:00Z --actor alice
  audite restore postgres://app@db/app users 42 --to 17 --dry-run | psql postgres://app@db/app`,
    )
    .action(async (database: string, table: string, key: string, flags: RestoreFlags) => {
      const options: RestoreOptions = { table, key, to: parseAsOf(flags.to), ...(flags.actor === undefined ? {} : { context: { actor: flags.actor } }) };
      const dryRun = flags.dryRun ?? false;
      const store = await openAuditStore(database, {
        write: !dryRun,
        busyTimeoutMs: parseBusyTimeout(flags.busyTimeout),
        ...(flags.schema === undefined ? {} : { schema: flags.schema }),
      });
      try {
        if (dryRun) {
          printDryRun(io, await store.planRestore(options));
          return;
        }
        const result = await store.restore(options);
        if (!result.applied) {
          print(io.stdout, `${describe(result)} already holds the version of event ${result.restoredEventId}; nothing to do`);
          return;
        }
        const verb = result.action === 'insert' ? 'inserted' : `updated ${result.changes.map((d) => d.field).join(', ')}`;
        print(
          io.stdout,
          `restored ${describe(result)} to the version of event ${result.restoredEventId} (${verb}); recorded as event ${result.eventIds.join(', ')}`,
        );
      } finally {
        await store.close();
      }
    });
}

function describe(plan: RestorePreview): string {
  return `${plan.table} ${JSON.stringify(plan.key)}`;
}

/** Comments, then the runnable script: the output pipes straight into sqlite3 (or psql). */
function printDryRun(io: CliIo, plan: RestorePreview): void {
  if (plan.action === 'none') {
    print(io.stdout, `-- ${describe(plan)} already holds the version of event ${plan.restoredEventId}; nothing to do`);
    return;
  }
  print(
    io.stdout,
    `-- restore ${describe(plan)} to the version of event ${plan.restoredEventId}: ${plan.action === 'insert' ? 'INSERT (the row does not exist now)' : 'UPDATE of the columns that differ'}`,
  );
  for (const line of plan.action === 'insert' ? renderRow(plan.row) : renderDiff(plan.changes)) print(io.stdout, `--   ${line}`);
  for (const note of plan.notes) print(io.stdout, `-- note: ${note}`);
  for (const sql of plan.script) print(io.stdout, sql);
}
