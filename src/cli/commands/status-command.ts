import type { Command } from 'commander';
import { readStatus } from '../../ops/status.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import { print, type CliIo } from '../io.ts';

export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('tracked tables, stale triggers, feed size and consumers')
    .argument('<db>', 'SQLite database file')
    .option('--json', 'machine-readable output')
    .action((file: string, flags: { json?: boolean }) => {
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
        print(
          io.stdout,
          `feed:      ${status.feed.events} event(s), head id ${status.feed.headId}, oldest ${status.feed.oldest ?? '-'}, newest ${status.feed.newest ?? '-'}`,
        );
        if (status.consumers.length === 0) print(io.stdout, 'consumers: (none)');
        for (const c of status.consumers) print(io.stdout, `consumer:  ${c.consumer}  position ${c.position}  lag ${c.lag}  updated ${c.updatedAt ?? '-'}`);
      } finally {
        db.close();
      }
    });
}
