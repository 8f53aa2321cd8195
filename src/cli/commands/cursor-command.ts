import type { Command } from 'commander';
import { FEED_TABLE } from '../../capture/feed-schema.ts';
import { AuditeError } from '../../errors.ts';
import { SqliteCheckpointStore } from '../../source/sqlite-checkpoint-store.ts';
import { ensureRelayTables } from '../../source/sqlite-relay-tables.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import { quoteIdent as q } from '../../sqlite/quote.ts';
import { print, type CliIo } from '../io.ts';

export function registerCursor(program: Command, io: CliIo): void {
  const cursor = program.command('cursor').description("inspect or move a consumer's checkpoint");
  cursor
    .command('reset')
    .description(
      'move a consumer to a position (also backwards: events after it are delivered again) and clear its halt; stop the daemon first, it reads cursors when a consumer starts',
    )
    .argument('<db>', 'SQLite database')
    .argument('<consumer>', 'consumer name (see `audite status`)')
    .requiredOption('--to <where>', 'start (redeliver everything), end (skip to the head) or an event id')
    .action(async (file: string, consumer: string, flags: { to: string }) => {
      const db = openDatabase(file);
      try {
        ensureRelayTables(db);
        const head = db
          .prepare(`SELECT coalesce(max(id), 0) FROM ${q(FEED_TABLE)}`)
          .pluck()
          .get() as number;
        const position = flags.to === 'start' ? 0 : flags.to === 'end' ? head : Number(flags.to);
        if (!Number.isSafeInteger(position) || position < 0 || position > head) {
          throw new AuditeError('INVALID_ARGUMENT', `--to takes start, end or an event id between 0 and ${head}, got ${JSON.stringify(flags.to)}`);
        }
        await new SqliteCheckpointStore(db).reset(consumer, position);
        print(io.stdout, `consumer ${consumer} now at position ${position} (head ${head})`);
      } finally {
        db.close();
      }
    });
}
