import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.ts';
import { AuditeError } from '../../errors.ts';
import { createEventBuilder } from '../../events/cloudevent-builder.ts';
import type { FeedEvent } from '../../events/feed-event.ts';
import { consumerNames } from '../../relay/relay.ts';
import { createSink } from '../../sinks/create-sink.ts';
import { openFeedBackend } from '../../source/open-backend.ts';
import { print, type CliIo } from '../io.ts';
import { cliLogger, feedConfig, PG_SCHEMA_FLAG } from '../run-relay.ts';

export function registerDeadLetter(program: Command, io: CliIo): void {
  const command = program.command('deadletter').description('events a sink refused for good (policy dead-letter)');
  command
    .command('list')
    .argument('<db>', 'SQLite database or postgres:// URL')
    .option('--consumer <name>', 'only this consumer')
    .option('--json', 'machine-readable output')
    .option(...PG_SCHEMA_FLAG)
    .action(async (database: string, flags: { consumer?: string; json?: boolean; schema?: string }) => {
      const backend = await openFeedBackend(feedConfig(io, database, { schema: flags.schema }), { oneShot: true });
      try {
        const letters = await backend.deadLetters.list(flags.consumer);
        if (flags.json) {
          print(
            io.stdout,
            JSON.stringify(
              letters.map(({ event: _event, response: _response, ...meta }) => meta),
              null,
              2,
            ),
          );
          return;
        }
        if (letters.length === 0) print(io.stdout, 'no dead letters');
        for (const l of letters) print(io.stdout, `#${l.id}  consumer ${l.consumer}  event ${l.eventId}  status ${l.status ?? '-'}  ${l.error}`);
      } finally {
        await backend.close();
      }
    });
  command
    .command('replay')
    .description("send dead-lettered events again through their consumer's sink; removed once acknowledged")
    .argument('[db]', 'SQLite database or postgres:// URL (or `database` in the config)')
    .option('-c, --config <file>', 'the config the daemon runs with (sinks are built from it)')
    .option('--consumer <name>', 'only this consumer')
    .option('--id <id>', 'only this dead letter')
    .option(...PG_SCHEMA_FLAG)
    .action(async (file: string | undefined, flags: { config?: string; consumer?: string; id?: string; schema?: string }) => {
      const config = loadConfig({
        file: flags.config ?? io.env.AUDITE_CONFIG,
        env: io.env,
        flags: { database: file, source: { postgres: { schema: flags.schema } } },
      });
      const names = consumerNames(config);
      const logger = cliLogger(config, io);
      const backend = await openFeedBackend(config, { oneShot: true });
      const build = createEventBuilder({ sourceTemplate: config.cloudevents.source });
      try {
        const store = backend.deadLetters;
        const letters = (await store.list(flags.consumer)).filter((l) => flags.id === undefined || String(l.id) === flags.id);
        let replayed = 0;
        for (const letter of letters) {
          const index = names.indexOf(letter.consumer);
          const sinkConfig = config.sinks[index];
          if (sinkConfig === undefined)
            throw new AuditeError('CONFIG_INVALID', `dead letter #${letter.id} belongs to consumer ${letter.consumer}, which this config does not define`);
          const sink = await createSink(sinkConfig, { logger, env: io.env, stdout: io.stdout });
          try {
            await sink.publish([build(JSON.parse(letter.event) as FeedEvent)], io.shutdown);
            await store.remove(letter.id);
            replayed += 1;
          } catch (error) {
            // Interrupted: what was acknowledged is removed, the rest stays for the next replay.
            if (!io.shutdown.aborted) throw error;
            break;
          } finally {
            await sink.close();
          }
        }
        print(io.stdout, `replayed ${replayed} dead letter(s)`);
      } finally {
        await backend.close();
      }
    });
}
