import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.ts';
import { AuditeError } from '../../errors.ts';
import type { FeedReport } from '../../ops/consumer-status.ts';
import type { PruneResult } from '../../ops/retention.ts';
import { parseRetentionWindow } from '../../ops/retention-window.ts';
import { openFeedInspector } from '../../source/open-backend.ts';
import { print, type CliIo } from '../io.ts';
import { busyTimeoutOption } from '../options.ts';
import { PG_SCHEMA_FLAG } from '../run-relay.ts';

interface PruneFlags {
  olderThan?: string;
  dryRun?: boolean;
  batchSize?: string;
  pause?: string;
  config?: string;
  busyTimeout?: string;
  schema?: string;
}

export function registerPrune(program: Command, io: CliIo): void {
  program
    .command('prune')
    .description('delete feed events every consumer has acknowledged and that are older than the retention window')
    .argument('<db>', 'SQLite database file or postgres:// URL (enabled)')
    .option('--older-than <window>', 'e.g. 12h, 7d, 2w (default: retention.keep from the config)')
    .option('--dry-run', 'count what would be deleted, delete nothing')
    .option('--batch-size <n>', 'events per write transaction (default 1000)')
    .option('--pause <ms>', 'pause between two transactions (default 10)')
    .option('-c, --config <file>', 'config file to read retention settings from (or AUDITE_CONFIG)')
    .addOption(busyTimeoutOption())
    .option(...PG_SCHEMA_FLAG)
    .action(async (file: string, flags: PruneFlags) => {
      const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
      const config = loadConfig({
        file: flags.config ?? io.env.AUDITE_CONFIG,
        env: io.env,
        flags: {
          database: file,
          retention: { keep: flags.olderThan, batchSize: num(flags.batchSize), pauseMs: num(flags.pause) },
          source: { busyTimeoutMs: num(flags.busyTimeout), postgres: { schema: flags.schema } },
        },
      });
      const keepSeconds = parseRetentionWindow(config.retention.keep, '--older-than');
      if (keepSeconds === null) {
        throw new AuditeError(
          'INVALID_ARGUMENT',
          'retention is "forever" (the default), so nothing is pruned; pass --older-than (e.g. 7d) or set retention.keep',
        );
      }
      const inspector = await openFeedInspector(config);
      try {
        if (inspector.prune === undefined) throw new AuditeError('INVALID_ARGUMENT', 'this database kind does not support pruning');
        const result = await inspector.prune({
          keepSeconds,
          batchSize: config.retention.batchSize,
          pauseMs: config.retention.pauseMs,
          dryRun: flags.dryRun ?? false,
          signal: io.shutdown,
        });
        report(io, result, config.retention.keep, await inspector.feed());
      } finally {
        await inspector.close();
      }
    });
}

function report(io: CliIo, result: PruneResult, window: string, feed: FeedReport): void {
  const range = result.upTo === null ? '' : ` (ids up to ${result.upTo})`;
  if (result.dryRun) print(io.stdout, `dry run: would prune ${result.pruned} event(s)${range} older than ${window} and acknowledged by every consumer`);
  else
    print(io.stdout, `pruned ${result.pruned} event(s)${range} older than ${window} and acknowledged by every consumer, in ${result.batches} transaction(s)`);
  print(
    io.stdout,
    `feed: ${feed.oldestId === null ? 'empty' : `ids ${feed.oldestId}–${feed.headId}`} (the newest event is always kept, so ids are never reused)`,
  );
  for (const b of result.blockers) {
    print(
      io.stdout,
      `blocked: consumer ${b.consumer}${b.halted ? ' (halted)' : ''} at position ${b.position} has not acknowledged events since ${new Date(b.oldestPendingTime * 1000).toISOString()}; fix or reset it, or delete its cursor row if it is gone for good`,
    );
  }
}
