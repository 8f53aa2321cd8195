import type { Command } from 'commander';
import { parseEventId } from '../../history/get-event.ts';
import { eventJson, renderEventDetail } from '../../history/history-format.ts';
import { openAuditStore } from '../../history/open-audit-store.ts';
import { print, type CliIo } from '../io.ts';

export function registerShow(program: Command, io: CliIo): void {
  program
    .command('show')
    .description('one event: its attributes, who and why, and what it changed')
    .argument('<db>', 'SQLite database file, or a postgres:// URL')
    .argument('<event-id>', 'the event id, as history shows it')
    .option('--json', 'the event as one JSON object')
    .option('--schema <name>', "PostgreSQL: the schema audite's feed lives in (default audite)")
    .action(async (database: string, idText: string, flags: { json?: boolean; schema?: string }) => {
      const id = parseEventId(idText);
      const store = await openAuditStore(database, flags.schema === undefined ? {} : { schema: flags.schema });
      try {
        const event = await store.getEvent(id);
        if (flags.json) print(io.stdout, eventJson(event));
        else for (const line of renderEventDetail(event)) print(io.stdout, line);
      } finally {
        await store.close();
      }
    });
}
