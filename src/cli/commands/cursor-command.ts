import type { Command } from 'commander';
import { AuditeError, isBusy } from '../../errors.ts';
import { lockedError } from '../../sqlite/open-database.ts';
import { openFeedBackend } from '../../source/open-backend.ts';
import { print, type CliIo } from '../io.ts';
import { feedConfig, PG_SCHEMA_FLAG } from '../run-relay.ts';

export function registerCursor(program: Command, io: CliIo): void {
  const cursor = program.command('cursor').description("inspect or move a consumer's checkpoint");
  cursor
    .command('reset')
    .description(
      'move a consumer to a position (also backwards: events after it are delivered again) and clear its halt; stop the daemon first, it reads cursors when a consumer starts',
    )
    .argument('<db>', 'SQLite database or postgres:// URL')
    .argument('<consumer>', 'consumer name (see `audite status`)')
    .requiredOption('--to <where>', 'start (redeliver everything), end (skip to the head) or an event id')
    .option(...PG_SCHEMA_FLAG)
    .action(async (database: string, consumer: string, flags: { to: string; schema?: string }) => {
      const backend = await openFeedBackend(feedConfig(io, database, { schema: flags.schema }), { oneShot: true });
      const source = backend.openSource();
      try {
        // The end of the feed as a consumer would reach it (PostgreSQL: the settled visibility horizon).
        const head = await source.head(io.shutdown);
        const position = flags.to === 'start' ? 0 : flags.to === 'end' ? head : Number(flags.to);
        if (!Number.isSafeInteger(position) || position < 0 || position > head) {
          throw new AuditeError('INVALID_ARGUMENT', `--to takes start, end or an event id between 0 and ${head}, got ${JSON.stringify(flags.to)}`);
        }
        await backend.checkpoints.reset(consumer, position).catch((error: unknown) => {
          throw isBusy(error) ? lockedError(database, error) : error;
        });
        print(io.stdout, `consumer ${consumer} now at position ${position} (head ${head})`);
      } finally {
        await backend.close();
      }
    });
}
