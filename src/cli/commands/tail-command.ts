import type { Command } from 'commander';
import { createEventBuilder, PoisonEventError } from '../../events/cloudevent-builder.ts';
import { AuditeError } from '../../errors.ts';
import { createStreamSink } from '../../sinks/stdout-sink.ts';
import { openReadOnlySource } from '../../source/open-backend.ts';
import { print, type CliIo } from '../io.ts';
import { feedConfig, PG_SCHEMA_FLAG } from '../run-relay.ts';

interface TailFlags {
  from: string;
  follow: boolean;
  sourceTemplate?: string;
  schema?: string;
}

/**
 * A console consumer: prints structured CloudEvents, one per line, and keeps
 * no cursor (like kafka-console-consumer, it never commits a position).
 */
export function registerTail(program: Command, io: CliIo): void {
  program
    .command('tail')
    .description('stream the change feed to the terminal as CloudEvents JSON lines (keeps no cursor)')
    .argument('<db>', 'SQLite database or postgres:// URL')
    .option('--from <where>', 'start: end (only new events), beginning, or an event id to start after', 'end')
    .option('--no-follow', 'print what is there and exit')
    .option('--source-template <template>', 'CloudEvents source, e.g. sqlite://billing/{table}')
    .option(...PG_SCHEMA_FLAG)
    .action(async (database: string, flags: TailFlags) => {
      const config = feedConfig(io, database, { schema: flags.schema });
      const source = await openReadOnlySource(database, { schema: config.source.postgres.schema, pollIntervalMs: 20 });
      const sink = createStreamSink({ stream: io.stdout });
      const build = createEventBuilder(flags.sourceTemplate === undefined ? {} : { sourceTemplate: flags.sourceTemplate });
      try {
        // Also with --from beginning: on PostgreSQL this settles the horizon, so --no-follow prints every committed event.
        const end = await source.head(io.shutdown);
        let position = flags.from === 'end' ? end : flags.from === 'beginning' ? 0 : parsePosition(flags.from);
        while (!io.shutdown.aborted) {
          const rows = await source.read(position, 500);
          if (rows.length === 0) {
            if (!flags.follow) break;
            await source.waitForChange(io.shutdown);
            continue;
          }
          const events = [];
          for (const row of rows) {
            try {
              events.push(build(row));
            } catch (error) {
              if (!(error instanceof PoisonEventError)) throw error;
              print(io.stderr, `audite: skipping ${error.message}`);
            }
          }
          await sink.publish(events, io.shutdown);
          position = rows[rows.length - 1]?.id ?? position;
        }
      } catch (error) {
        // Ctrl-C while a write waits on a slow reader (`| less`) is a normal way to stop.
        if (!io.shutdown.aborted) throw error;
      } finally {
        await sink.close();
        await source.close();
      }
    });
}

function parsePosition(value: string): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id) || id < 0)
    throw new AuditeError('INVALID_ARGUMENT', `--from takes end, beginning or an event id, got ${JSON.stringify(value)}`);
  return id;
}
