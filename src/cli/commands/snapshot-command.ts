import type { Command } from 'commander';
import { snapshot, type SnapshotOptions, type SnapshotResult } from '../../capture/snapshot.ts';
import { AuditeError } from '../../errors.ts';
import { createProgressReporter } from '../../ops/progress-line.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import type { SqliteDatabase } from '../../sqlite/sqlite-database.ts';
import { print, type CliIo } from '../io.ts';
import { busyTimeoutOption, collect, parseBusyTimeout } from '../options.ts';

interface SnapshotFlags {
  table: string[];
  chunkSize?: string;
  pause?: string;
  restart?: boolean;
  busyTimeout?: string;
}

export function registerSnapshot(program: Command, io: CliIo): void {
  program
    .command('snapshot')
    .description('emit the rows already in captured tables into the feed as <table>.snapshot events (resumable)')
    .argument('<db>', 'SQLite database file (enabled)')
    .option('--table <name>', 'snapshot only this captured table (repeatable; default: all captured tables)', collect, [])
    .option('--chunk-size <rows>', 'rows per write transaction (default 1000)')
    .option('--pause <ms>', "pause between chunks (default: as long as the last chunk took, so the app's writers get the lock half the time)")
    .option('--restart', 'discard an unfinished snapshot and start over')
    .addOption(busyTimeoutOption())
    .action(async (file: string, flags: SnapshotFlags) => {
      const db = openDatabase(file, { busyTimeoutMs: parseBusyTimeout(flags.busyTimeout) });
      try {
        await runSnapshot(
          db,
          {
            ...(flags.table.length > 0 ? { tables: flags.table } : {}),
            ...(flags.chunkSize === undefined ? {} : { chunkSize: wholeNumber(flags.chunkSize, '--chunk-size', 1) }),
            ...(flags.pause === undefined ? {} : { pauseMs: wholeNumber(flags.pause, '--pause', 0) }),
            restart: flags.restart ?? false,
          },
          io,
        );
      } finally {
        db.close();
      }
    });
}

/** The snapshot with a progress line and a summary; `enable --snapshot` calls this too. */
export async function runSnapshot(db: SqliteDatabase, options: Omit<SnapshotOptions, 'signal' | 'onProgress'>, io: CliIo): Promise<SnapshotResult> {
  const progress = createProgressReporter({ stream: io.stderr, tty: (io.stderr as { isTTY?: boolean }).isTTY === true });
  let result: SnapshotResult;
  try {
    result = await snapshot(db, { ...options, signal: io.shutdown, onProgress: (p) => progress.update(p) });
  } finally {
    progress.finish();
  }
  const tables = `${result.tables.length} table(s) (${result.tables.join(', ')})`;
  if (result.complete) {
    print(io.stdout, `snapshot ${result.resumed ? 'resumed and ' : ''}complete: ${result.rows} row(s) from ${tables} emitted as <table>.snapshot events`);
  } else {
    print(io.stdout, `snapshot interrupted after ${result.rows} row(s) of ${tables}; run the same command again to resume`);
  }
  return result;
}

function wholeNumber(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new AuditeError('INVALID_ARGUMENT', `${flag} must be a whole number >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}
