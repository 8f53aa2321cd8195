import type { Command } from 'commander';
import { AuditeError } from '../../errors.ts';
import { CHANGE_OPS, type AuditEvent, type ChangeOp } from '../../history/audit-event.ts';
import type { FieldChange } from '../../history/field-changes.ts';
import { eventJson, fieldChangeJson, renderEvents, renderFieldChanges } from '../../history/history-format.ts';
import type { HistoryFilter } from '../../history/history-query.ts';
import { openAuditStore } from '../../history/open-audit-store.ts';
import { parseTimeInput } from '../../history/time-input.ts';
import { print, type CliIo } from '../io.ts';
import { collect } from '../options.ts';

interface HistoryFlags {
  table: string[];
  actor: string[];
  since?: string;
  until?: string;
  type: string[];
  field: string[];
  fields?: boolean;
  newestFirst?: boolean;
  limit?: string;
  json?: boolean;
  schema?: string;
}

export function registerHistory(program: Command, io: CliIo): void {
  program
    .command('history')
    .description("what changed, when, by whom and why: one record, one table, or an actor's changes across tables")
    .argument('<db>', 'SQLite database file, or a postgres:// URL')
    .argument('[table]', 'only this table (default: every table)')
    .argument('[key]', "only this record: its key as history shows it (compound keys joined by ':', rowid for SQLite tables without a key)")
    .option('--table <name>', 'only this table (repeatable; instead of the [table] argument)', collect, [])
    .option('--actor <name>', 'only changes made by this actor (repeatable)', collect, [])
    .option('--since <time>', 'from this time on, inclusive: ISO-8601 (UTC unless a zone is given) or unix seconds')
    .option('--until <time>', 'before this time, exclusive: --since 2024-05-01 --until 2024-05-02 is one day')
    .option('--type <type>', 'only created, updated or deleted events (or truncated, on PostgreSQL; repeatable)', collect, [])
    .option('--field <name>', 'only events that touched this field; with --fields, only its rows (repeatable)', collect, [])
    .option('--fields', 'one row per changed field: old and new value, when, who and why')
    .option('--newest-first', 'newest events first (default: oldest first, in commit order)')
    .option('--limit <n>', 'at most n rows (events, or field rows with --fields)')
    .option('--json', 'one JSON object per line instead of a table')
    .option('--schema <name>', "PostgreSQL: the schema audite's feed lives in (default audite)")
    .addHelpText(
      'after',
      `
Examples:
  audite history app.db users 42                      every change of users row 42
  audite history app.db users 42 --fields --field email
  audite history app.db --actor alice --since 2024-05-01 --until 2024-05-02
  audite history app.db --table orders --table order_items --type deleted --newest-first --limit 20
  audite history postgres://app@db/app sales.orders 42`,
    )
    .action(async (database: string, table: string | undefined, key: string | undefined, flags: HistoryFlags) => {
      const filter = toFilter(table, key, flags);
      const store = await openAuditStore(database, flags.schema === undefined ? {} : { schema: flags.schema });
      try {
        const hint = await store.indexHint(filter);
        if (hint !== undefined) print(io.stderr, hint);
        if (flags.fields) {
          await output(io, flags.json ?? false, store.fieldChanges(filter), fieldChangeJson, renderFieldChanges, 'no matching field changes');
        } else {
          await output(io, flags.json ?? false, store.history(filter), eventJson, renderEvents, 'no matching events');
        }
      } finally {
        await store.close();
      }
    });
}

/** A table is sized and printed this many rows at a time, so memory stays flat whatever the history's length. */
const TABLE_CHUNK = 1000;

/** JSON streams line by line; a table sizes its columns per chunk of rows. */
async function output<T extends AuditEvent | FieldChange>(
  io: CliIo,
  json: boolean,
  rows: AsyncIterable<T>,
  toJson: (row: T) => string,
  render: (rows: T[]) => string[],
  empty: string,
): Promise<void> {
  if (json) {
    for await (const row of rows) print(io.stdout, toJson(row));
    return;
  }
  let chunk: T[] = [];
  let printed = false;
  for await (const row of rows) {
    chunk.push(row);
    if (chunk.length === TABLE_CHUNK) {
      for (const line of render(chunk)) print(io.stdout, line);
      printed = true;
      chunk = [];
    }
  }
  if (chunk.length > 0) for (const line of render(chunk)) print(io.stdout, line);
  else if (!printed) print(io.stdout, empty);
}

function toFilter(table: string | undefined, key: string | undefined, flags: HistoryFlags): HistoryFilter {
  const tables = [...(table === undefined ? [] : [table]), ...flags.table];
  for (const type of flags.type) {
    if (!(CHANGE_OPS as readonly string[]).includes(type))
      throw new AuditeError('INVALID_ARGUMENT', `--type must be created, updated or deleted (or truncated, on PostgreSQL), got ${JSON.stringify(type)}`);
  }
  const filter: HistoryFilter = {
    tables,
    keys: key === undefined ? [] : [key],
    actors: flags.actor,
    ops: flags.type as ChangeOp[],
    fields: flags.field,
    newestFirst: flags.newestFirst ?? false,
  };
  if (flags.since !== undefined) filter.since = parseTimeInput(flags.since, '--since');
  if (flags.until !== undefined) filter.until = parseTimeInput(flags.until, '--until');
  if (flags.limit !== undefined) {
    if (!/^\d{1,9}$/.test(flags.limit)) throw new AuditeError('INVALID_ARGUMENT', `--limit must be a whole number, got ${JSON.stringify(flags.limit)}`);
    filter.limit = Number(flags.limit);
  }
  return filter;
}
