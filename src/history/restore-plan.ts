import type { ChangeContext } from '../capture/context.ts';
import { CONTEXT_TABLE, FEED_TABLE } from '../capture/feed-schema.ts';
import { listTables, readTable, type TableInfo } from '../capture/schema-reader.ts';
import { triggerName } from '../capture/trigger-builder.ts';
import { AuditeError } from '../errors.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import type { AuditEvent } from './audit-event.ts';
import type { RestorePreview } from './audit-store.ts';
import { readFeedShape } from './feed-access.ts';
import { type RowImage, type SqlValue } from './feed-json.ts';
import { describeAsOf, rowAsOf, type AsOf } from './point-in-time.ts';
import { diffRows, type FieldDiff } from './row-diff.ts';
import { bindSql, sqlLiteral, type BindValue, type BoundSql, type SqlPart } from './sql-literal.ts';

export interface RestoreOptions {
  table: string;
  /** The record's subject, as history shows it. */
  key: string;
  /** An event id (the state right after it) or a time (after every event at or before it). */
  to: AsOf;
  /** Who restores; reason is always 'restore' and extra gains restored_event_id. */
  context?: Omit<ChangeContext, 'reason'>;
}

/** The preview every backend gives, plus what running it here needs. */
export interface RestorePlan extends RestorePreview {
  statement: BoundSql | null;
  context: ChangeContext;
}

const HEX = /^(?:[0-9A-F]{2})*$/;

/**
 * Works out, reading only, how to bring one row back to an earlier version:
 * INSERT when the row does not exist now (deleted, or its key changed), else
 * an UPDATE of the captured columns that differ. Columns the version lacks
 * (excluded from capture, or added since) are left as they are on update and
 * get their defaults on insert; generated columns are recomputed. Refuses
 * (RESTORE_CONFLICT) when the version no longer fits the table's schema.
 */
export function planRestore(db: SqliteDatabase, options: RestoreOptions): RestorePlan {
  readFeedShape(db);
  const table = liveTable(db, options.table);
  assertTracked(db, table.name);
  const version = rowAsOf(db, table.name, options.key, options.to, { integers: 'bigint' });
  const subject = `${table.name} ${JSON.stringify(options.key)}`;
  if (!version.exists) {
    const hint =
      version.why === 'deleted' ? `event ${version.event.id} deleted it; ${beforeDelete(db, version.event)}` : `event ${version.event.id} created it later`;
    throw new AuditeError('NOT_FOUND', `${subject} did not exist as of ${describeAsOf(options.to)} (${hint})`);
  }
  const eventId = version.event.id;
  const refuse = (why: string): never => {
    throw new AuditeError('RESTORE_CONFLICT', `cannot restore ${subject} to the version of event ${eventId}: ${why}; nothing was written`);
  };
  const columns = new Map(readColumns(db, table.name).map((c) => [c.name, c]));
  const notes: string[] = [];
  const written: ColumnRow[] = [];
  for (const [name, value] of Object.entries(version.row)) {
    const column = columns.get(name);
    if (column === undefined) return refuse(`column ${JSON.stringify(name)} no longer exists in ${table.name}`);
    if (column.hidden !== 0) {
      notes.push(`${name}: generated, recomputed by SQLite`);
      continue;
    }
    if (value === null && column.notnull && !isIntegerKey(table, column))
      return refuse(`column ${JSON.stringify(name)} is NOT NULL now but was NULL in that version`);
    written.push(column);
  }

  const keyParts = keyPredicate(table, version.row, options.key, refuse);
  const current = readCurrent(db, table.name, written, keyParts);
  const restored: RowImage = {};
  for (const column of written) restored[column.name] = version.row[column.name] as SqlValue;
  const untouched = [...columns.values()].filter((c) => c.hidden === 0 && !(c.name in version.row));
  let action: RestorePlan['action'];
  let changes: FieldDiff[];
  let parts: SqlPart[] | null = null;
  if (current === null) {
    action = 'insert';
    changes = diffRows(null, restored);
    for (const column of untouched) {
      if (column.notnull && column.dflt_value === null && !isIntegerKey(table, column)) {
        return refuse(
          `column ${JSON.stringify(column.name)} is NOT NULL without a default, and that version has no value for it (added since, or not captured)`,
        );
      }
      notes.push(`${column.name}: not in that version, gets its default`);
    }
    const names = written.map((c) => q(c.name));
    const values: SqlPart[] = written.map((c) => ({ value: bindValue(c, restored[c.name] ?? null) }));
    if (table.primaryKey.length === 0) {
      // Tables keyed by rowid: the rowid is the subject, and not a captured column.
      names.unshift(q(table.rowidName as string));
      values.unshift({ value: BigInt(options.key) });
    }
    parts = [`INSERT INTO ${q(table.name)} (${names.join(', ')}) VALUES (`, ...joinParts(values, ', '), ')'];
  } else {
    changes = diffRows(current, restored);
    action = changes.length === 0 ? 'none' : 'update';
    for (const column of untouched) notes.push(`${column.name}: not in that version, left as it is`);
    if (action === 'update') {
      const sets = changes.map((d): SqlPart[] => [`${q(d.field)} = `, { value: bindValue(columns.get(d.field) as ColumnRow, d.new) }]);
      parts = [`UPDATE ${q(table.name)} SET `, ...joinParts(sets, ', '), ' WHERE ', ...keyParts];
    }
  }

  const context: ChangeContext = {
    ...options.context,
    reason: 'restore',
    extra: { ...options.context?.extra, restored_event_id: eventId },
  };
  const statement = parts === null ? null : bindSql(parts);
  return {
    table: table.name,
    key: options.key,
    action,
    restoredEventId: eventId,
    row: restored,
    current,
    changes,
    statement,
    context,
    script: script(statement, context),
    notes,
  };
}

/** Where to point --to to undelete: the record's previous event, or (for a row older than capture) a second before the delete. */
function beforeDelete(db: SqliteDatabase, deleted: AuditEvent): string {
  const previous = db
    .prepare(`SELECT max(id) AS id FROM ${q(FEED_TABLE)} WHERE source = ? AND subject = ? AND id < ?`)
    .get(deleted.table, deleted.key, deleted.id) as { id: number | null };
  return previous.id !== null
    ? `to undelete it, restore to event ${previous.id} (--to ${previous.id})`
    : `to undelete it, restore to a time before it (--to @${deleted.time - 1})`;
}

interface ColumnRow {
  name: string;
  type: string;
  notnull: number;
  dflt_value: string | null;
  pk: number;
  hidden: number;
}

function readColumns(db: SqliteDatabase, table: string): ColumnRow[] {
  return db.prepare('SELECT name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?) ORDER BY cid').all(table) as ColumnRow[];
}

function liveTable(db: SqliteDatabase, name: string): TableInfo {
  const row = listTables(db).find((t) => t.name.toLowerCase() === name.toLowerCase() && t.type === 'table');
  if (row !== undefined) return readTable(db, row);
  const dropped = db.prepare(`SELECT 1 FROM ${q(FEED_TABLE)} WHERE source = ? LIMIT 1`).get(name) !== undefined;
  throw new AuditeError(
    'UNKNOWN_TABLE',
    dropped ? `table ${JSON.stringify(name)} no longer exists; restore brings back rows, not tables` : `no table named ${JSON.stringify(name)} in ${db.name}`,
  );
}

/** A restore on an untracked table would go unrecorded: refuse it. */
function assertTracked(db: SqliteDatabase, table: string): void {
  const names = [triggerName(table, 'insert'), triggerName(table, 'update')];
  const found = db
    .prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'trigger' AND name COLLATE NOCASE IN (?, ?) AND tbl_name = ? COLLATE NOCASE")
    .get(...names, table) as { n: number };
  if (found.n < names.length) {
    throw new AuditeError(
      'NOT_ENABLED',
      `table ${JSON.stringify(table)} is not tracked (no audite triggers), so a restore would go unrecorded; run \`audite enable\` for it first`,
    );
  }
}

function isIntegerKey(table: TableInfo, column: ColumnRow): boolean {
  return !table.withoutRowid && table.primaryKey.length === 1 && column.pk === 1 && column.type.toUpperCase() === 'INTEGER';
}

/** WHERE terms naming the row: its primary key from the restored image, or the rowid the subject is. */
function keyPredicate(table: TableInfo, row: RowImage, key: string, refuse: (why: string) => never): SqlPart[] {
  if (table.primaryKey.length === 0) {
    if (!/^-?\d+$/.test(key)) return refuse(`${table.name} is keyed by rowid, and ${JSON.stringify(key)} is not one`);
    return [`${q(table.rowidName as string)} = `, { value: BigInt(key) }];
  }
  const terms = table.primaryKey.map((name): SqlPart[] => {
    if (!(name in row)) return refuse(`primary-key column ${JSON.stringify(name)} is not in that version (the key changed since)`);
    const column = { name, type: table.columns.find((c) => c.name === name)?.type ?? '', notnull: 0, dflt_value: null, pk: 1, hidden: 0 };
    return [`${q(name)} IS `, { value: bindValue(column, row[name] ?? null) }];
  });
  return joinParts(terms, ' AND ');
}

function readCurrent(db: SqliteDatabase, table: string, columns: ColumnRow[], where: SqlPart[]): RowImage | null {
  const select = bindSql([`SELECT 1${columns.map((c) => `, ${q(c.name)}`).join('')} FROM ${q(table)} WHERE `, ...where]);
  // Raw arrays (no name clashes) and exact integers, as the feed holds them.
  const values = db
    .prepare(select.sql)
    .raw(true)
    .safeIntegers(true)
    .get(...select.params) as unknown[] | undefined;
  if (values === undefined) return null;
  const row: RowImage = {};
  columns.forEach((column, i) => {
    const value = values[i + 1];
    row[column.name] = Buffer.isBuffer(value) ? value.toString('hex').toUpperCase() : (value as SqlValue);
  });
  return row;
}

/**
 * The feed holds a BLOB as upper-case hex text, indistinguishable from text
 * that looks like hex. It goes back as a BLOB only when the column is declared
 * with BLOB in its type; everywhere else it is written as the text it reads as.
 */
export function bindValue(column: { type: string }, value: SqlValue): BindValue {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && /BLOB/i.test(column.type) && HEX.test(value)) return Buffer.from(value, 'hex');
  return value;
}

function joinParts(groups: readonly (SqlPart | SqlPart[])[], separator: string): SqlPart[] {
  const out: SqlPart[] = [];
  groups.forEach((group, i) => {
    if (i > 0) out.push(separator);
    out.push(...(Array.isArray(group) ? group : [group]));
  });
  return out;
}

/** What `restore` runs, as withContext runs it; the context row is the newest, so max(id) finds it. */
function script(statement: BoundSql | null, context: ChangeContext): string[] {
  if (statement === null) return [];
  const values = [
    context.actor ?? null,
    context.reason ?? null,
    context.impersonatedBy ?? null,
    context.requestId ?? null,
    context.extra === undefined ? null : JSON.stringify(context.extra),
  ];
  const ctx = q(CONTEXT_TABLE);
  return [
    'BEGIN IMMEDIATE;',
    `INSERT INTO ${ctx} (actor, reason, impersonated_by, request_id, extra) VALUES (${values.map(sqlLiteral).join(', ')});`,
    `${statement.literal};`,
    `DELETE FROM ${ctx} WHERE id = (SELECT max(id) FROM ${ctx});`,
    'COMMIT;',
  ];
}
