import { qualified, quoteIdent as q, quoteLiteral as s } from '../../postgres/quote.ts';
import { DRIFT_COLUMNS_FUNCTION, DRIFT_SUBJECT_FUNCTION, dollarQuote } from './pg-drift-functions.ts';
import { PG_CONTEXT_SETTINGS, PG_FEED_TABLE } from './pg-feed-schema.ts';
import { captureFunctionName, captureTriggerName, type PgTriggerOp } from './pg-names.ts';
import type { PgColumn, PgTableInfo } from './pg-tables.ts';

/** Which triggers fire per row rather than per statement; see buildPgCapture. */
export type PgRowLevel = 'none' | 'update' | 'all';

export interface PgTableCaptureOptions {
  /** Columns whose values never enter the feed. */
  excludeColumns: readonly PgColumn[];
  /** Record no event for an UPDATE that changed none of the captured columns. */
  skipNoopUpdates: boolean;
  /** Updates carry in `new` only the columns that changed. */
  changedOnly: boolean;
  /** Force row-level triggers (the benchmark compares them); default 'none' where the table allows. */
  rowLevel?: PgRowLevel;
}

/** pg_trigger.tgtype bits. */
const TG_ROW = 1;
const TG_OP_BITS: Record<PgTriggerOp, number> = { insert: 4, delete: 8, update: 16, truncate: 32 };

export const NEW_ROWS = 'audite_new';
export const OLD_ROWS = 'audite_old';

export interface PgTriggerDef {
  name: string;
  op: PgTriggerOp;
  /** What pg_trigger holds for it: type bits and transition table names. */
  tgtype: number;
  oldTable: string | null;
  newTable: string | null;
  sql: string;
}

/**
 * SET clauses of every capture function. Key values reach the subject through
 * to_jsonb(), so the settings that change its output are pinned: a session in
 * another time zone or style records the same subject (and image). DateStyle
 * is not among them: to_jsonb() writes dates and times as ISO 8601 whatever it
 * says. Each SET costs a few microseconds per call.
 */
export const CAPTURE_FUNCTION_SETTINGS: readonly (readonly [string, string])[] = [
  ['search_path', 'pg_catalog, pg_temp'],
  ['TimeZone', "'UTC'"],
  ['IntervalStyle', "'postgres'"],
  ['extra_float_digits', '1'],
  ['bytea_output', "'hex'"],
  ['lc_monetary', "'C'"],
];

/** The SET clauses as pg_proc.proconfig stores them. */
export const CAPTURE_FUNCTION_CONFIG: readonly string[] = CAPTURE_FUNCTION_SETTINGS.map(([name, value]) => `${name}=${value.replace(/'/g, '')}`);

export interface PgTableCapture {
  table: PgTableInfo;
  functionName: string;
  /** The function body exactly as pg_proc.prosrc stores it. */
  body: string;
  functionSql: string;
  triggers: PgTriggerDef[];
}

/** Who and why, from the settings the writing transaction made; NULL when it set none (SET LOCAL leaves '' behind). */
export const PG_CONTEXT_EXPR = `nullif(jsonb_strip_nulls(jsonb_build_object(${Object.entries(PG_CONTEXT_SETTINGS)
  .map(([key, setting]) => `${s(key)}, nullif(current_setting(${s(setting)}, true), '')`)
  .join(', ')})), '{}'::jsonb)`;

/**
 * One plpgsql function per table, fired by four AFTER triggers. On ordinary
 * tables INSERT, UPDATE and DELETE fire once per statement and write the
 * statement's events with one INSERT … SELECT over the transition tables,
 * in row order; TRUNCATE fires once per statement.
 *
 * An UPDATE's old and new rows are paired by key: a subject in both is
 * `updated` (old image → new image of that subject), a subject only in the
 * old rows `deleted`, one only in the new rows `created`. So a key change
 * reads as on SQLite (deleted old subject, then created new), and a statement
 * that shifts or swaps keys still leaves every subject's last event with its
 * final row. Row-level triggers are used where pairing by key or statement
 * triggers cannot work: partitioned tables (only row triggers reach the
 * partitions, for direct writes to a partition and rows moved between them)
 * and DEFERRABLE keys (duplicates until commit).
 *
 * The row image is to_jsonb(row): numbers keep every digit and a column added
 * later is captured without a rebuild. The names of key and excluded columns
 * are checked per row (`?&`, cheap); when a migration renamed or dropped one,
 * the drift helpers supply the current names. SECURITY DEFINER: app roles need
 * no privilege on the feed and cannot write to it except through capture.
 */
export function buildPgCapture(feedSchema: string, table: PgTableInfo, options: PgTableCaptureOptions): PgTableCapture {
  if (table.key === undefined) throw new Error(`table ${table.source} has no key`);
  const forced = options.rowLevel ?? 'none';
  const rowInsertDelete = forced === 'all' || table.kind === 'partitioned';
  const rowUpdate = rowInsertDelete || forced === 'update' || table.key.deferrable;
  const functionName = captureFunctionName(table.schema, table.name);
  const fn = qualified(feedSchema, functionName);
  const body = new BodyBuilder(feedSchema, table, table.key.columns, options).build(rowInsertDelete, rowUpdate);
  const functionSql = `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  ${CAPTURE_FUNCTION_SETTINGS.map(([name, value]) => `SET ${name} = ${value}`).join(' ')} AS ${dollarQuote(body)}`;
  const target = qualified(table.schema, table.name);
  const trigger = (op: PgTriggerOp, row: boolean, transitions: { old?: boolean; new?: boolean } = {}): PgTriggerDef => {
    const name = captureTriggerName(feedSchema, op);
    const refs = [transitions.old ? `OLD TABLE AS ${q(OLD_ROWS)}` : '', transitions.new ? `NEW TABLE AS ${q(NEW_ROWS)}` : ''].filter((r) => r !== '');
    const referencing = refs.length === 0 ? '' : ` REFERENCING ${refs.join(' ')}`;
    return {
      name,
      op,
      tgtype: TG_OP_BITS[op] | (row ? TG_ROW : 0),
      oldTable: transitions.old ? OLD_ROWS : null,
      newTable: transitions.new ? NEW_ROWS : null,
      sql: `CREATE TRIGGER ${q(name)} AFTER ${op.toUpperCase()} ON ${target}${referencing} FOR EACH ${row ? 'ROW' : 'STATEMENT'} EXECUTE FUNCTION ${fn}()`,
    };
  };
  const triggers = [
    rowInsertDelete ? trigger('insert', true) : trigger('insert', false, { new: true }),
    rowUpdate ? trigger('update', true) : trigger('update', false, { old: true, new: true }),
    rowInsertDelete ? trigger('delete', true) : trigger('delete', false, { old: true }),
    trigger('truncate', false),
  ];
  return { table, functionName, body, functionSql, triggers };
}

const textArray = (names: readonly string[]): string => `ARRAY[${names.map(s).join(', ')}]::text[]`;

class BodyBuilder {
  readonly feed: string;
  readonly source: string;
  readonly insertFeed: string;
  readonly options: PgTableCaptureOptions;
  readonly table: PgTableInfo;
  readonly key: readonly string[];
  readonly feedSchema: string;
  /** Rows fired on a partition are the partition's; its root has the attnums recorded here. */
  readonly root: string;

  constructor(feedSchema: string, table: PgTableInfo, key: readonly string[], options: PgTableCaptureOptions) {
    this.feedSchema = feedSchema;
    this.table = table;
    this.key = key;
    this.options = options;
    this.feed = qualified(feedSchema, PG_FEED_TABLE);
    this.source = s(table.source);
    this.insertFeed = `INSERT INTO ${this.feed} (source, subject, type, data, context)`;
    this.root = table.kind === 'partitioned' ? 'pg_catalog.pg_partition_root(TG_RELID)' : 'TG_RELID';
  }

  type(op: string): string {
    return s(`${this.table.source}.${op}`);
  }

  /** The subject from a full row image `j`: key values as text, joined by ':' in key order. */
  subject(j: string): string {
    const fast = this.key.map((k) => `(${j} ->> ${s(k)})`).join(` || ':' || `);
    return `CASE WHEN ${j} ?& ${textArray(this.key)} THEN ${fast} ELSE ${qualified(this.feedSchema, DRIFT_SUBJECT_FUNCTION)}(${this.root}, ${j}) END`;
  }

  /** The row image without the excluded columns. */
  image(j: string): string {
    const excluded = this.options.excludeColumns;
    if (excluded.length === 0) return j;
    const names = textArray(excluded.map((c) => c.name));
    const attnums = `ARRAY[${excluded.map((c) => c.attnum).join(', ')}]::int2[]`;
    return `CASE WHEN ${j} ?& ${names} THEN ${j} - ${names} ELSE ${j} - ${qualified(this.feedSchema, DRIFT_COLUMNS_FUNCTION)}(${this.root}, ${attnums}) END`;
  }

  /** `new` of an updated event: the whole image, or only what changed. */
  changed(n: string, o: string): string {
    if (!this.options.changedOnly) return n;
    return `(SELECT coalesce(jsonb_object_agg(audite_e.key, audite_e.value), '{}'::jsonb) FROM jsonb_each(${n}) AS audite_e WHERE (${o} -> audite_e.key) IS DISTINCT FROM audite_e.value)`;
  }

  values(subject: string, op: string, data: string): string {
    return `(${this.source}, ${subject}, ${this.type(op)}, ${data}, audite_ctx)`;
  }

  rowUpdate(): string[] {
    return [
      `audite_n := to_jsonb(NEW);`,
      `audite_o := to_jsonb(OLD);`,
      `audite_sn := ${this.subject('audite_n')};`,
      `audite_so := ${this.subject('audite_o')};`,
      ...(this.options.excludeColumns.length > 0 ? [`audite_n := ${this.image('audite_n')};`, `audite_o := ${this.image('audite_o')};`] : []),
      `IF audite_sn IS DISTINCT FROM audite_so THEN`,
      `  -- The key changed: the row has a new identity. Delete the old subject, create the new (as on SQLite).`,
      `  ${this.insertFeed} VALUES ${this.values('audite_so', 'deleted', `jsonb_build_object('old', audite_o)`)}, ${this.values('audite_sn', 'created', `jsonb_build_object('new', audite_n)`)};`,
      `  RETURN NULL;`,
      `END IF;`,
      ...(this.options.skipNoopUpdates ? [`IF audite_n = audite_o THEN`, `  RETURN NULL;`, `END IF;`] : []),
      `${this.insertFeed} VALUES ${this.values('audite_sn', 'updated', `jsonb_build_object('new', ${this.changed('audite_n', 'audite_o')}, 'old', audite_o)`)};`,
    ];
  }

  rowEvent(ref: 'NEW' | 'OLD', op: string, field: 'new' | 'old'): string[] {
    return [
      `audite_n := to_jsonb(${ref});`,
      `${this.insertFeed} VALUES ${this.values(this.subject('audite_n'), op, `jsonb_build_object(${s(field)}, ${this.image('audite_n')})`)};`,
    ];
  }

  /**
   * A transition table's rows with subject and image (and, numbered, their
   * position). OFFSET 0 keeps to_jsonb() from being inlined into every use.
   */
  rows(transition: string, numbered: boolean): string {
    const pos = numbered ? ', audite_x.audite_pos' : '';
    const number = numbered ? ', row_number() OVER () AS audite_pos' : '';
    return `(SELECT ${this.subject('audite_x.audite_j')} AS audite_s, ${this.image('audite_x.audite_j')} AS audite_j${pos}
           FROM (SELECT to_jsonb(audite_t.*) AS audite_j${number} FROM ${q(transition)} AS audite_t OFFSET 0) AS audite_x)`;
  }

  statementEvents(transition: string, op: string, field: 'new' | 'old'): string[] {
    return [
      this.insertFeed,
      `SELECT ${this.source}, audite_r.audite_s, ${this.type(op)}, jsonb_build_object(${s(field)}, audite_r.audite_j), audite_ctx`,
      // A plain scan of the transition table: events in the statement's row order.
      `  FROM ${this.rows(transition, false)} AS audite_r;`,
    ];
  }

  statementUpdate(): string[] {
    const [n, o] = ['audite_rn', 'audite_ro'];
    return [
      this.insertFeed,
      `SELECT ${this.source}, coalesce(${n}.audite_s, ${o}.audite_s),`,
      `       CASE WHEN ${o}.audite_s IS NULL THEN ${this.type('created')} WHEN ${n}.audite_s IS NULL THEN ${this.type('deleted')} ELSE ${this.type('updated')} END,`,
      `       CASE WHEN ${o}.audite_s IS NULL THEN jsonb_build_object('new', ${n}.audite_j) WHEN ${n}.audite_s IS NULL THEN jsonb_build_object('old', ${o}.audite_j)`,
      `            ELSE jsonb_build_object('new', ${this.changed(`${n}.audite_j`, `${o}.audite_j`)}, 'old', ${o}.audite_j) END,`,
      `       audite_ctx`,
      `  FROM ${this.rows(NEW_ROWS, true)} AS ${n}`,
      `  FULL JOIN ${this.rows(OLD_ROWS, true)} AS ${o} ON ${o}.audite_s = ${n}.audite_s`,
      ...(this.options.skipNoopUpdates ? [` WHERE ${o}.audite_s IS NULL OR ${n}.audite_s IS NULL OR ${n}.audite_j IS DISTINCT FROM ${o}.audite_j`] : []),
      // A key change at position p: its deleted event, then its created one.
      ` ORDER BY coalesce(${n}.audite_pos, ${o}.audite_pos), ${n}.audite_pos IS NOT NULL;`,
    ];
  }

  build(rowInsertDelete: boolean, rowUpdate: boolean): string {
    const indent = (lines: string[]): string => lines.map((l) => `    ${l}`).join('\n');
    return `
DECLARE
  audite_ctx jsonb := ${PG_CONTEXT_EXPR};
  audite_n jsonb;
  audite_o jsonb;
  audite_sn text;
  audite_so text;
BEGIN
  IF TG_OP = 'UPDATE' THEN
${indent(rowUpdate ? this.rowUpdate() : this.statementUpdate())}
  ELSIF TG_OP = 'INSERT' THEN
${indent(rowInsertDelete ? this.rowEvent('NEW', 'created', 'new') : this.statementEvents(NEW_ROWS, 'created', 'new'))}
  ELSIF TG_OP = 'DELETE' THEN
${indent(rowInsertDelete ? this.rowEvent('OLD', 'deleted', 'old') : this.statementEvents(OLD_ROWS, 'deleted', 'old'))}
  ELSE
    ${this.insertFeed} VALUES (${this.source}, '', ${this.type('truncated')}, NULL, audite_ctx);
  END IF;
  RETURN NULL;
END
`;
  }
}
