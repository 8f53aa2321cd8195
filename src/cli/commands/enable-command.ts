import type { Command } from 'commander';
import { readStoredSpec } from '../../capture/capture-spec.ts';
import { enable } from '../../capture/enable.ts';
import { readPgStoredSpec } from '../../capture/postgres/pg-capture-spec.ts';
import { enablePostgres, type PgEnableOptions } from '../../capture/postgres/pg-enable.ts';
import { DEFAULT_PG_SCHEMA } from '../../capture/postgres/pg-feed-schema.ts';
import { readPgTables, resolveColumnRef } from '../../capture/postgres/pg-tables.ts';
import { readTables } from '../../capture/schema-reader.ts';
import { AuditeError } from '../../errors.ts';
import { connectPostgres } from '../../postgres/connect.ts';
import { isPostgresUrl } from '../../postgres/database-url.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { openDatabase } from '../../sqlite/open-database.ts';
import type { SqliteDatabase } from '../../sqlite/sqlite-database.ts';
import { print, type CliIo } from '../io.ts';
import { runSnapshot } from './snapshot-command.ts';
import { collect, busyTimeoutOption, parseBusyTimeout } from '../options.ts';

interface EnableFlags {
  table: string[];
  excludeTable: string[];
  excludeColumn: string[];
  includeColumn: string[];
  skipNoopUpdates?: boolean;
  historyIndexes?: boolean;
  wal: boolean;
  autoincrement?: boolean;
  dryRun?: boolean;
  snapshot?: boolean;
  busyTimeout?: string;
  schema?: string;
  changedOnly?: boolean;
}

export function registerEnable(program: Command, io: CliIo): void {
  program
    .command('enable')
    .description('install capture triggers (idempotent: re-run after schema changes)')
    .argument('<db>', 'SQLite database file (must exist), or a postgres:// URL')
    .option('--table <name>', 'capture only this table (repeatable; default: all tables)', collect, [])
    .option('--exclude-table <name>', 'do not capture this table (repeatable)', collect, [])
    .option('--exclude-column <table.column>', 'never record this column (repeatable; adds to the columns excluded before)', collect, [])
    .option('--include-column <table.column>', 'record a column excluded before again (repeatable)', collect, [])
    .option('--skip-noop-updates', 'record no event for an UPDATE that changed nothing')
    .option('--no-skip-noop-updates', "record every UPDATE (audite's behaviour, the default)")
    .option('--history-indexes', 'index the feed by (source, subject) and time for audit queries (slower writes)')
    .option('--no-history-indexes', 'do not add the history indexes (the default)')
    .option('--autoincrement', 'new feed only: AUTOINCREMENT ids like Python audite (slower writes)')
    .option('--no-wal', 'leave the journal mode as it is (default: switch to WAL so the relay never blocks writers)')
    .option('--dry-run', 'print the SQL instead of running it')
    .option('--snapshot', 'then emit the rows that already exist as <table>.snapshot events (resumable; see `audite snapshot`)')
    .addOption(busyTimeoutOption())
    .option('--schema <name>', `PostgreSQL: the schema audite installs into (default ${DEFAULT_PG_SCHEMA})`)
    .option('--changed-only', 'PostgreSQL: updates record in `new` only the columns that changed, next to the full `old`')
    .option('--no-changed-only', 'PostgreSQL: updates record the whole new row (the default)')
    .action(async (file: string, flags: EnableFlags) => {
      if (isPostgresUrl(file)) return enablePg(file, flags, io);
      if (flags.schema !== undefined || flags.changedOnly !== undefined)
        throw new AuditeError('INVALID_ARGUMENT', `${flags.schema !== undefined ? '--schema' : '--changed-only'} applies to PostgreSQL URLs only`);
      const db = openDatabase(file, { busyTimeoutMs: parseBusyTimeout(flags.busyTimeout) });
      try {
        const result = enable(db, {
          ...(flags.table.length > 0 ? { tables: flags.table } : {}),
          ...(flags.excludeTable.length > 0 ? { excludeTables: flags.excludeTable } : {}),
          ...(flags.excludeColumn.length > 0 ? { excludeColumns: parseColumnFilters(db, flags.excludeColumn) } : {}),
          ...(flags.includeColumn.length > 0 ? { includeColumns: parseIncludes(db, flags.includeColumn) } : {}),
          ...(flags.skipNoopUpdates === undefined ? {} : { skipNoopUpdates: flags.skipNoopUpdates }),
          ...(flags.historyIndexes === undefined ? {} : { historyIndexes: flags.historyIndexes }),
          ...(flags.autoincrement === undefined ? {} : { autoincrement: flags.autoincrement }),
          wal: flags.wal,
          dryRun: flags.dryRun ?? false,
        });
        if (printNoticesOrDryRun(result, io)) return;
        if (result.upToDate) print(io.stdout, `up to date: capturing ${result.tables.length} table(s), nothing to change`);
        else if (result.statements.length === 0) print(io.stdout, `triggers up to date: capturing ${result.tables.length} table(s)`);
        else print(io.stdout, `enabled: capturing ${result.tables.length} table(s): ${result.tables.join(', ')}`);
        if (result.walEnabled) print(io.stdout, 'journal mode set to WAL (persistent): the relay reads without ever blocking your writers');
        if (flags.snapshot) await runSnapshot(db, {}, io);
      } finally {
        db.close();
      }
    });
}

async function enablePg(url: string, flags: EnableFlags, io: CliIo): Promise<void> {
  const sqliteOnly = [flags.autoincrement !== undefined && '--autoincrement', !flags.wal && '--no-wal', flags.snapshot !== undefined && '--snapshot'].find(
    (f) => f !== false,
  );
  if (sqliteOnly !== undefined) throw new AuditeError('INVALID_ARGUMENT', `${sqliteOnly} applies to SQLite databases only, not to PostgreSQL`);
  const schema = flags.schema ?? DEFAULT_PG_SCHEMA;
  const lockTimeoutMs = parseBusyTimeout(flags.busyTimeout);
  const client = await connectPostgres(url, { applicationName: 'audite enable' });
  try {
    const options: PgEnableOptions = {
      schema,
      ...(flags.table.length > 0 ? { tables: flags.table } : {}),
      ...(flags.excludeTable.length > 0 ? { excludeTables: flags.excludeTable } : {}),
      ...(flags.excludeColumn.length > 0 ? { excludeColumns: await parsePgColumnFilters(client, schema, flags.excludeColumn) } : {}),
      ...(flags.includeColumn.length > 0 ? { includeColumns: await parsePgIncludes(client, schema, flags.includeColumn) } : {}),
      ...(flags.skipNoopUpdates === undefined ? {} : { skipNoopUpdates: flags.skipNoopUpdates }),
      ...(flags.changedOnly === undefined ? {} : { changedOnly: flags.changedOnly }),
      ...(flags.historyIndexes === undefined ? {} : { historyIndexes: flags.historyIndexes }),
      dryRun: flags.dryRun ?? false,
      lockTimeoutMs,
    };
    const result = await enablePostgres(client, options);
    if (printNoticesOrDryRun(result, io)) return;
    if (result.upToDate) print(io.stdout, `up to date: capturing ${result.tables.length} table(s), nothing to change`);
    else print(io.stdout, `enabled: capturing ${result.tables.length} table(s) into schema ${schema}: ${result.tables.join(', ')}`);
  } finally {
    await client.end();
  }
}

async function parsePgColumnFilters(client: PgClient, schema: string, values: string[]): Promise<Record<string, string[]>> {
  const tables = await readPgTables(client, schema);
  const result: Record<string, string[]> = {};
  for (const value of values) {
    const match = resolveColumnRef(tables, value);
    if (match === undefined) throw new AuditeError('UNKNOWN_COLUMN', `--exclude-column ${JSON.stringify(value)} names no column; write it as table.column`);
    (result[match.table] ??= []).push(match.column);
  }
  return result;
}

async function parsePgIncludes(client: PgClient, schema: string, values: string[]): Promise<Record<string, string[]>> {
  const excluded = Object.entries((await readPgStoredSpec(client, schema))?.excludeColumns ?? {});
  const result: Record<string, string[]> = {};
  for (const value of values) {
    const match = excluded
      .flatMap(([table, columns]) => columns.map((column) => ({ table, column })))
      .find(({ table, column }) => `${table}.${column}` === value);
    if (match === undefined)
      throw new AuditeError('UNKNOWN_COLUMN', `--include-column ${JSON.stringify(value)} is not an excluded column; write it as table.column`);
    (result[match.table] ??= []).push(match.column);
  }
  return result;
}

/** `table.column`, where either name may itself contain dots: resolve against the schema. */
function parseColumnFilters(db: SqliteDatabase, values: string[]): Record<string, string[]> {
  const tables = readTables(db);
  const result: Record<string, string[]> = {};
  for (const value of values) {
    let match: { table: string; column: string } | undefined;
    for (let i = value.indexOf('.'); i > 0; i = value.indexOf('.', i + 1)) {
      const table = tables.find((t) => t.name.toLowerCase() === value.slice(0, i).toLowerCase());
      const column = table?.columns.find((c) => c.name.toLowerCase() === value.slice(i + 1).toLowerCase());
      if (table !== undefined && column !== undefined) match = { table: table.name, column: column.name };
    }
    if (match === undefined) {
      throw new AuditeError('UNKNOWN_COLUMN', `--exclude-column ${JSON.stringify(value)} names no column; write it as table.column`);
    }
    (result[match.table] ??= []).push(match.column);
  }
  return result;
}

/** `table.column` among the columns excluded now (the table or column may be gone from the schema). */
function parseIncludes(db: SqliteDatabase, values: string[]): Record<string, string[]> {
  const excluded = Object.entries(readStoredSpec(db)?.excludeColumns ?? {});
  const result: Record<string, string[]> = {};
  for (const value of values) {
    const lower = value.toLowerCase();
    const match = excluded
      .flatMap(([table, columns]) => columns.map((column) => ({ table, column })))
      .find(({ table, column }) => `${table}.${column}`.toLowerCase() === lower);
    if (match === undefined)
      throw new AuditeError('UNKNOWN_COLUMN', `--include-column ${JSON.stringify(value)} is not an excluded column; write it as table.column`);
    (result[match.table] ??= []).push(match.column);
  }
  return result;
}

/** Notices to stderr; for a dry run, the SQL it would execute to stdout. True when it was a dry run. */
function printNoticesOrDryRun(result: { notices: readonly string[]; dryRun: boolean; statements: readonly string[] }, io: CliIo): boolean {
  for (const notice of result.notices) print(io.stderr, `notice: ${notice}`);
  if (!result.dryRun) return false;
  for (const sql of result.statements) print(io.stdout, `${sql};`);
  if (result.statements.length === 0) print(io.stdout, '-- up to date: nothing to do');
  return true;
}
