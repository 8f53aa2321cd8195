import type { Command } from 'commander';
import { getEvent, parseEventId } from '../../history/get-event.ts';
import { eventJson, renderEventDetail } from '../../history/history-format.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import { print, type CliIo } from '../io.ts';

export function registerShow(program: Command, io: CliIo): void {
  program
    .command('show')
    .description('one event: its attributes, who and why, and what it changed')
    .argument('<db>', 'SQLite database file')
    .argument('<event-id>', 'the event id, as history shows it')
    .option('--json', 'the event as one JSON object')
    .action((file: string, idText: string, flags: { json?: boolean }) => {
      const id = parseEventId(idText);
      const db = openDatabase(file, { readonly: true });
      try {
        const event = getEvent(db, id);
        if (flags.json) print(io.stdout, eventJson(event));
        else for (const line of renderEventDetail(event)) print(io.stdout, line);
      } finally {
        db.close();
      }
    });
}
