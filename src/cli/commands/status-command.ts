import type { Command } from 'commander';
import { readStatus } from '../../ops/status.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import { print, type CliIo } from '../io.ts';

export function registerStatus(program: Command, io: CliIo): void {
  program
    .command('status')
    .description('tracked tables, stale triggers, feed size, snapshot progress, and per consumer: position, lag, last delivery, errors, dead letters')
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
        if (status.consumers.length === 0) print(io.stdout, 'consumers: (none)');
        for (const c of status.consumers) {
          print(
            io.stdout,
            `consumer:  ${c.consumer}  position ${c.position}  lag ${c.lag} event(s), ${c.lagSeconds} s  last delivery ${c.lastDeliveryAt ?? '-'}  dead letters ${c.deadLetters}${c.halted ? '  HALTED' : ''}`,
          );
          if (c.lastError !== null) print(io.stdout, `           last error: ${c.lastError}`);
        }
      } finally {
        db.close();
      }
    });
}
