import { AuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { readStoredSpec, sameSpec, storeSpecSql, type CaptureSpec } from './capture-spec.ts';
import { guardTriggers } from './feed-guard.ts';
import { addContextColumn, addReplacedRidColumn, FEED_TABLE, feedObjects, historyIndexes, REPLACED_TABLE } from './feed-schema.ts';
import { isInternalTable, readTables, type TableInfo } from './schema-reader.ts';
import { buildTriggers, type TriggerDef } from './trigger-builder.ts';

export interface EnablePlan {
  /** SQL to run, in order, inside one write transaction. Empty when all is up to date. */
  statements: string[];
  /** Tables whose changes are captured once the plan is applied. */
  tables: string[];
  /** Tables whose triggers exist but no longer match the table (stale) or are missing. */
  stale: string[];
  /** Things the operator should know: skipped virtual tables and the like. */
  notices: string[];
}

interface SchemaRow {
  type: string;
  name: string;
  tbl_name: string;
  sql: string | null;
}

/** Compares what the database has with what `spec` asks for; reads only. */
export function planEnable(db: SqliteDatabase, spec: CaptureSpec, options: { autoincrement?: boolean } = {}): EnablePlan {
  const rows = db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema').all() as SchemaRow[];
  const byName = new Map(rows.map((r) => [r.name.toLowerCase(), r]));
  const statements: string[] = [];
  const notices: string[] = [];

  const feedRow = byName.get(FEED_TABLE);
  const autoincrement = feedRow?.sql ? /AUTOINCREMENT/i.test(feedRow.sql) : (options.autoincrement ?? false);
  for (const object of feedObjects({ autoincrement })) {
    if (!byName.has(object.name)) statements.push(object.sql);
  }
  if (feedRow !== undefined) {
    const hasContext = db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = 'context'`).get(FEED_TABLE) !== undefined;
    if (!hasContext) statements.push(addContextColumn);
  }
  // After the context column: the actor index is on it.
  if (spec.historyIndexes) for (const index of historyIndexes) if (!byName.has(index.name)) statements.push(index.sql);
  if (byName.has(REPLACED_TABLE)) {
    const hasRid = db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = 'rid'`).get(REPLACED_TABLE) !== undefined;
    if (!hasRid) statements.push(addReplacedRidColumn);
  }
  if (!autoincrement) {
    for (const guard of guardTriggers) if (byName.get(guard.name)?.sql !== guard.sql) statements.push(...replaceTrigger(guard.name, guard.sql, byName));
  }
  if (!sameSpec(readStoredSpec(db), spec)) statements.push(storeSpecSql(spec));

  const tables = selectTables(db, spec, notices);
  const exclusions = resolveExclusions(tables, spec);
  const desired: TriggerDef[] = tables.flatMap((t) =>
    buildTriggers(t, { excludeColumns: exclusions.get(t.name) ?? new Set(), skipNoopUpdates: spec.skipNoopUpdates }),
  );
  const desiredNames = new Set(desired.map((d) => d.name.toLowerCase()));
  const stale = new Set<string>();

  // Triggers of tables no longer tracked, or left behind by a table rename.
  for (const row of rows) {
    if (row.type === 'trigger' && row.name.startsWith('audite_audit_') && !desiredNames.has(row.name.toLowerCase())) {
      statements.push(`DROP TRIGGER IF EXISTS ${q(row.name)}`);
    }
  }
  for (const trigger of desired) {
    const existing = byName.get(trigger.name.toLowerCase());
    if (existing?.type === 'trigger' && existing.sql === trigger.sql && existing.tbl_name === trigger.table) continue;
    stale.add(trigger.table);
    statements.push(...replaceTrigger(trigger.name, trigger.sql, byName));
  }
  return { statements, tables: tables.map((t) => t.name), stale: [...stale], notices };
}

function replaceTrigger(name: string, sql: string, byName: Map<string, SchemaRow>): string[] {
  return byName.has(name.toLowerCase()) ? [`DROP TRIGGER IF EXISTS ${q(name)}`, sql] : [sql];
}

function selectTables(db: SqliteDatabase, spec: CaptureSpec, notices: string[]): TableInfo[] {
  const all = readTables(db).filter((t) => !isInternalTable(t.name));
  const byName = new Map(all.map((t) => [t.name.toLowerCase(), t]));
  const excluded = new Set(spec.excludeTables.map((t) => t.toLowerCase()));
  for (const name of [...(spec.tables ?? []), ...spec.excludeTables]) {
    if (!byName.has(name.toLowerCase()))
      throw new AuditeError('UNKNOWN_TABLE', `no table named ${JSON.stringify(name)} in this database; check --table / --exclude-table`);
  }
  let chosen: TableInfo[];
  if (spec.tables === null) {
    chosen = all.filter((t) => {
      if (t.kind === 'virtual') notices.push(`skipped virtual table ${JSON.stringify(t.name)}: SQLite cannot put triggers on virtual tables (FTS5, R*Tree, …)`);
      return t.kind === 'table';
    });
  } else {
    chosen = spec.tables.map((name) => byName.get(name.toLowerCase()) as TableInfo);
    for (const t of chosen) {
      if (t.kind !== 'table') throw new AuditeError('UNSUPPORTED_TABLE', `${JSON.stringify(t.name)} is a ${t.kind} table; SQLite cannot put triggers on it`);
    }
  }
  chosen = chosen.filter((t) => !excluded.has(t.name.toLowerCase()));
  for (const [table, columns] of Object.entries(spec.excludeColumns)) {
    const info = byName.get(table.toLowerCase());
    const undo = (column: string): string => `\`audite enable --include-column ${table}.${column}\``;
    if (info === undefined)
      throw new AuditeError(
        'UNKNOWN_TABLE',
        `no table named ${JSON.stringify(table)} for the excluded columns; if it is gone for good, run ${undo(columns[0] ?? '')}`,
      );
    for (const column of columns) {
      const col = findColumn(info, column);
      if (col === undefined)
        throw new AuditeError(
          'UNKNOWN_COLUMN',
          `table ${JSON.stringify(table)} has no column named ${JSON.stringify(column)} to exclude; if it was renamed, exclude the new name; if it was dropped, run ${undo(column)}`,
        );
      if (col.pk > 0)
        throw new AuditeError(
          'INVALID_ARGUMENT',
          `column ${JSON.stringify(column)} is part of the primary key of ${JSON.stringify(table)}; the key is the event's subject and cannot be excluded`,
        );
    }
  }
  return chosen.filter((t) => {
    if (t.primaryKey.length > 0 || t.rowidName !== undefined) return true;
    notices.push(`skipped table ${JSON.stringify(t.name)}: it has no primary key and its columns shadow rowid, _rowid_ and oid`);
    return false;
  });
}

// SQLite matches table and column names case-insensitively; so must the exclusions.
function findColumn(table: TableInfo, name: string): TableInfo['columns'][number] | undefined {
  return table.columns.find((c) => c.name.toLowerCase() === name.toLowerCase());
}

/** Excluded columns by their names as the schema spells them (validated by selectTables). */
function resolveExclusions(tables: TableInfo[], spec: CaptureSpec): Map<string, Set<string>> {
  const result = new Map<string, Set<string>>();
  for (const [table, columns] of Object.entries(spec.excludeColumns)) {
    const info = tables.find((t) => t.name.toLowerCase() === table.toLowerCase());
    if (info === undefined) continue;
    const set = result.get(info.name) ?? new Set<string>();
    for (const column of columns) set.add(findColumn(info, column)?.name ?? column);
    result.set(info.name, set);
  }
  return result;
}
