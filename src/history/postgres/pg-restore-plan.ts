import { PG_CONTEXT_SETTINGS } from '../../capture/postgres/pg-feed-schema.ts';
import { AuditeError } from '../../errors.ts';
import { pgErrorCode } from '../../postgres/pg-errors.ts';
import { quoteIdent as q, quoteLiteral } from '../../postgres/quote.ts';
import type { AuditEvent } from '../audit-event.ts';
import type { RestorePreview } from '../audit-store.ts';
import { parseFeedJson, stringifyFeedJson, toRowImage, type RowImage } from '../feed-json.ts';
import { describeAsOf } from '../point-in-time.ts';
import type { RestoreOptions } from '../restore-plan.ts';
import type { FieldDiff } from '../row-diff.ts';
import type { ColumnOrder } from './pg-events.ts';
import { pgFeedRange, pgQuery, type PgFeed } from './pg-feed.ts';
import { pgRowAsOf } from './pg-point-in-time.ts';
import { assertPgTracked, liveTableForRestore, readPgColumns, readPgKeyColumns, type PgColumn, type PgTable } from './pg-tables.ts';

export interface PgRestorePlan extends RestorePreview {
  target: PgTable;
  /** The INSERT or UPDATE, its one parameter ($1) the version's image as jsonb text; null when there is nothing to do. */
  statement: string | null;
  /** The version's image exactly as the feed holds it: numbers are never parsed into JS numbers on the way back. */
  image: string;
  /** set_config() pairs that make the triggers record who and why. */
  settings: [string, string][];
  /** jsonb text merged into the context of the restore's events: restored_event_id and any extra keys. */
  extra: string;
  /** The feed's newest id when planned: the restore's events come after it. */
  head: number;
}

const R = q('audite_r');
const CUR = q('audite_cur');

/**
 * Works out, reading only, how to bring one row back: INSERT when it does not
 * exist now (deleted, truncated, or its key changed), else an UPDATE of the
 * captured columns that differ. The row goes back through
 * jsonb_populate_record(NULL::<table>, image), so PostgreSQL converts each
 * value to the column's type exactly. Columns the version lacks are left alone
 * on update and get their defaults on insert; generated columns are
 * recomputed. Refuses (RESTORE_CONFLICT), naming the column, when the version
 * no longer fits. With `lock`, the current row is locked FOR UPDATE.
 */
export async function planPgRestore(feed: PgFeed, options: RestoreOptions, order: ColumnOrder, lock = false): Promise<PgRestorePlan> {
  const target = await liveTableForRestore(feed, options.table);
  await assertPgTracked(feed, target);
  const version = await pgRowAsOf(feed, target.source, options.key, options.to, order, { integers: 'bigint' });
  const subject = `${target.source} ${JSON.stringify(options.key)}`;
  if (!version.exists) {
    const hint =
      version.why === 'deleted'
        ? `event ${version.event.id} ${version.event.op === 'truncated' ? 'truncated the table' : 'deleted it'}; ${await beforeRemoval(feed, version.event, options.key)}`
        : `event ${version.event.id} created it later`;
    throw new AuditeError('NOT_FOUND', `${subject} did not exist as of ${describeAsOf(options.to)} (${hint})`);
  }
  const eventId = version.event.id;
  const refuse = (why: string): never => {
    throw new AuditeError('RESTORE_CONFLICT', `cannot restore ${subject} to the version of event ${eventId}: ${why}; nothing was written`);
  };
  if (version.imageText === null) return refuse('the feed holds no row image for that version');
  const image = version.imageText;
  const columns = await readPgColumns(feed, target);
  const byName = new Map(columns.map((c) => [c.name, c]));
  const notes: string[] = [];
  const written: PgColumn[] = [];
  for (const [name, value] of Object.entries(version.row)) {
    const column = byName.get(name);
    if (column === undefined) return refuse(`column ${JSON.stringify(name)} no longer exists in ${target.source}`);
    if (column.generated) {
      notes.push(`${name}: generated, recomputed by PostgreSQL`);
      continue;
    }
    if (value === null && column.notNull) return refuse(`column ${JSON.stringify(name)} is NOT NULL now but was NULL in that version`);
    written.push(column);
  }
  const keys = await readPgKeyColumns(feed, target);
  if (keys.length === 0) return refuse(`${target.source} has no primary key or replica-identity index to find the row by`);
  for (const key of keys) {
    if (!(key in version.row)) return refuse(`primary-key column ${JSON.stringify(key)} is not in that version (the key changed since)`);
  }

  const populatedFrom = (imageSql: string): string => `jsonb_populate_record(NULL::${target.sql}, ${imageSql}) AS ${R}`;
  const populated = populatedFrom('$1::jsonb');
  const normalized = await normalize(feed, target, image, written, refuse);
  const keyMatch = keys.map((k) => `${CUR}.${q(k)} = ${R}.${q(k)}`).join(' AND ');
  const [now] = await pgQuery<{ row: string }>(
    feed,
    `SELECT to_jsonb(${CUR}.*)::text AS row FROM ${target.sql} AS ${CUR}, ${populated} WHERE ${keyMatch}${lock ? ` FOR UPDATE OF ${CUR}` : ''}`,
    [image],
  );
  const restored = pick(parseImage(normalized), written);
  const current = now === undefined ? null : pick(parseImage(now.row), written);
  const untouched = columns.filter((c) => !c.generated && !(c.name in version.row));
  let action: RestorePreview['action'];
  let changes: FieldDiff[];
  let build: ((imageSql: string) => string) | null = null;
  if (current === null || now === undefined) {
    action = 'insert';
    changes = written.map((c) => ({ field: c.name, old: null, new: restored[c.name] ?? null }));
    for (const column of untouched) {
      if (column.notNull && !column.hasDefault && column.identity === '') {
        return refuse(
          `column ${JSON.stringify(column.name)} is NOT NULL without a default, and that version has no value for it (added since, or not captured)`,
        );
      }
      notes.push(`${column.name}: not in that version, gets its default`);
    }
    const names = written.map((c) => q(c.name));
    // An identity column GENERATED ALWAYS takes the old value only when told to.
    const override = written.some((c) => c.identity === 'a') ? ' OVERRIDING SYSTEM VALUE' : '';
    build = (imageSql) =>
      `INSERT INTO ${target.sql} (${names.join(', ')})${override} SELECT ${names.map((n) => `${R}.${n}`).join(', ')} FROM ${populatedFrom(imageSql)}`;
  } else {
    const differing = await differingColumns(feed, now.row, normalized, written);
    changes = differing.map((name) => ({ field: name, old: current[name] ?? null, new: restored[name] ?? null }));
    action = changes.length === 0 ? 'none' : 'update';
    for (const column of untouched) notes.push(`${column.name}: not in that version, left as it is`);
    if (action === 'update') {
      const sets = differing.map((name) => `${q(name)} = ${R}.${q(name)}`).join(', ');
      build = (imageSql) => `UPDATE ${target.sql} AS ${CUR} SET ${sets} FROM ${populatedFrom(imageSql)} WHERE ${keyMatch}`;
    }
  }

  const settings = contextSettings(options);
  const extra = stringifyFeedJson({ ...options.context?.extra, restored_event_id: eventId });
  const { head } = await pgFeedRange(feed);
  const statement = build === null ? null : build('$1::jsonb');
  // The script writes the image in as a literal; built from the same parts, never by search and replace.
  const literal = build === null ? null : build(`${quoteLiteral(image)}::jsonb`);
  const plan = { target, key: options.key, action, restoredEventId: eventId, row: restored, current, changes, notes, statement, image, settings, extra, head };
  return { ...plan, table: target.source, script: pgRestoreScript(feed, plan, literal) };
}

/** The version in the table's current types, as to_jsonb writes a row; a value that no longer converts is refused by name. */
async function normalize(feed: PgFeed, target: PgTable, image: string, written: PgColumn[], refuse: (why: string) => never): Promise<string> {
  try {
    const [row] = await pgQuery<{ image: string }>(
      feed,
      `SELECT to_jsonb(${R}.*)::text AS image FROM jsonb_populate_record(NULL::${target.sql}, $1::jsonb) AS ${R}`,
      [image],
    );
    return (row as { image: string }).image;
  } catch (error) {
    if (!pgErrorCode(error)?.startsWith('22')) throw error;
    for (const column of written) {
      try {
        await pgQuery(feed, `SELECT jsonb_populate_record(NULL::${target.sql}, jsonb_build_object($2::text, $1::jsonb -> $2::text))`, [image, column.name]);
      } catch (each) {
        if (!pgErrorCode(each)?.startsWith('22')) throw each;
        return refuse(`column ${JSON.stringify(column.name)} (now ${column.type}) cannot take that version's value: ${firstLine(each)}`);
      }
    }
    return refuse(firstLine(error));
  }
}

/** Compared as jsonb, so numbers compare exactly, whatever their size. */
async function differingColumns(feed: PgFeed, current: string, restored: string, written: PgColumn[]): Promise<string[]> {
  const rows = await pgQuery<{ name: string }>(
    feed,
    `SELECT c.key AS name FROM jsonb_each($1::jsonb) AS c JOIN jsonb_each($2::jsonb) AS v ON v.key = c.key
      WHERE c.key = ANY($3::text[]) AND c.value IS DISTINCT FROM v.value`,
    [current, restored, written.map((c) => c.name)],
  );
  const differing = new Set(rows.map((r) => r.name));
  return written.map((c) => c.name).filter((name) => differing.has(name));
}

function parseImage(text: string): RowImage {
  return toRowImage(parseFeedJson(text, { integers: 'bigint' })) ?? {};
}

function pick(row: RowImage, columns: readonly PgColumn[]): RowImage {
  const out: RowImage = {};
  for (const column of columns) out[column.name] = row[column.name] ?? null;
  return out;
}

function contextSettings(options: RestoreOptions): [string, string][] {
  const context = options.context ?? {};
  const settings: [string, string][] = [[PG_CONTEXT_SETTINGS.reason, 'restore']];
  if (context.actor !== undefined) settings.push([PG_CONTEXT_SETTINGS.actor, context.actor]);
  if (context.impersonatedBy !== undefined) settings.push([PG_CONTEXT_SETTINGS.impersonated_by, context.impersonatedBy]);
  if (context.requestId !== undefined) settings.push([PG_CONTEXT_SETTINGS.request_id, context.requestId]);
  return settings;
}

/** The statement that stamps restored_event_id (and extra keys) onto the events this transaction recorded; named keys the triggers set win. */
export function contextPatchSql(feed: PgFeed, extra: string, head: string): string {
  return `UPDATE ${feed.table} SET context = ${extra}::jsonb || coalesce(context, '{}'::jsonb) WHERE id > ${head} AND txid = pg_current_xact_id()`;
}

/** The whole restore as psql runs it, values written in. */
function pgRestoreScript(feed: PgFeed, plan: Omit<PgRestorePlan, 'script' | 'table'>, statement: string | null): string[] {
  if (statement === null) return [];
  const settings = plan.settings.map(([name, value]) => `set_config(${quoteLiteral(name)}, ${quoteLiteral(value)}, true)`).join(', ');
  return ['BEGIN;', `SELECT ${settings};`, `${statement};`, `${contextPatchSql(feed, quoteLiteral(plan.extra), String(plan.head))};`, 'COMMIT;'];
}

/** Where to point --to to bring the row back: its previous event, or (a row older than capture) a second before the removal. */
async function beforeRemoval(feed: PgFeed, removal: AuditEvent, key: string): Promise<string> {
  const [previous] = await pgQuery<{ id: string | null }>(
    feed,
    `SELECT max(id)::text AS id FROM ${feed.table} WHERE source = $1 AND subject = $2 AND id < $3`,
    [removal.table, key, removal.id],
  );
  return previous?.id !== null && previous?.id !== undefined
    ? `to undelete it, restore to event ${previous.id} (--to ${previous.id})`
    : `to undelete it, restore to a time before it (--to @${Math.floor(removal.time) - 1})`;
}

/** PostgreSQL's message, one line, without the quoted value some carry (`invalid input syntax for type integer: "…"`): row data stays out of messages. */
export function firstLine(error: unknown): string {
  const line = (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  return line.replace(/: ".*$/, '');
}
