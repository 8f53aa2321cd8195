import { quoteIdent as q, quoteString as s } from '../sqlite/quote.ts';
import { CONTEXT_TABLE, FEED_TABLE, REPLACED_TABLE, SPEC_VERSION } from './feed-schema.ts';
import { identity, rowJsonSql, subjectSql } from './row-image.ts';
import type { ColumnInfo, TableInfo } from './schema-reader.ts';

export type TriggerKind = 'insert' | 'update' | 'delete' | 'replace' | 'rekey' | 'displace' | 'displaced';
export const TRIGGER_KINDS: readonly TriggerKind[] = ['insert', 'update', 'delete', 'replace', 'rekey', 'displace', 'displaced'];

export interface TableCaptureOptions {
  /** Columns whose values never enter the feed. */
  excludeColumns: ReadonlySet<string>;
  /** Record no event for an UPDATE that changed none of the captured columns. */
  skipNoopUpdates: boolean;
}

export interface TriggerDef {
  name: string;
  table: string;
  sql: string;
}

/** audite's naming; the insert, update and delete names replace Python audite's triggers. */
export function triggerName(table: string, kind: TriggerKind): string {
  return `audite_audit_${table}_${kind}_trigger`;
}

const OLD_ALIAS = 'audite_old';
const STAGED_ALIAS = 'audite_staged';

type Ref = 'NEW' | 'OLD' | typeof OLD_ALIAS;

export function buildTriggers(table: TableInfo, options: TableCaptureOptions): TriggerDef[] {
  const b = new Builder(table, options);
  return [b.insert(), b.update(), b.delete(), b.replace(), b.rekey(), b.displace(), b.displaced()];
}

class Builder {
  readonly table: TableInfo;
  readonly options: TableCaptureOptions;
  readonly captured: ColumnInfo[];
  readonly keyColumns: string[];
  readonly keyIsRowid: boolean;

  constructor(table: TableInfo, options: TableCaptureOptions) {
    this.table = table;
    this.options = options;
    this.captured = table.columns.filter((c) => !options.excludeColumns.has(c.name));
    const { columns, isRowid } = identity(table);
    this.keyColumns = columns;
    this.keyIsRowid = isRowid;
  }

  private create(kind: TriggerKind, timing: string, when: string | undefined, body: string[]): TriggerDef {
    const name = triggerName(this.table.name, kind);
    const whenSql = when === undefined ? '' : `\nWHEN ${when}`;
    const sql = `CREATE TRIGGER ${q(name)} ${timing} ON ${q(this.table.name)}${whenSql}\nBEGIN\n${body.map((st) => `  ${st};`).join('\n')}\nEND`;
    return { name, table: this.table.name, sql };
  }

  insert(): TriggerDef {
    const rid = this.ridName();
    // In a rowid table a staged row counts only if it is gone (or NEW took its rowid):
    // the BEFORE trigger sees NEW.rowid = -1 for an auto-numbered insert and may stage row -1.
    const gone = rid === undefined ? undefined : `${q(STAGED_ALIAS)}.rid = NEW.${q(rid)} OR ${this.stagedRowGone(rid)}`;
    return this.create('insert', 'AFTER INSERT', undefined, [
      ...this.recordStaged(gone),
      this.event(this.subject('NEW'), 'created', `json_object('new', ${this.row('NEW')})`),
    ]);
  }

  update(): TriggerDef {
    // BINARY: under a NOCASE collation 'a' → 'A' is still a change, of the subject or of the data.
    const sameKey = this.keyColumns.map((c) => `OLD.${q(c)} IS NEW.${q(c)} COLLATE BINARY`).join(' AND ');
    let when = sameKey;
    if (this.options.skipNoopUpdates && this.captured.length > 0) {
      when = `${sameKey} AND ${balanced(
        this.captured.map((c) => `OLD.${q(c.name)} IS NOT NEW.${q(c.name)} COLLATE BINARY`),
        'OR',
      )}`;
    }
    // One statement: rows an UPDATE OR REPLACE displaced are recorded by the displaced trigger.
    return this.create('update', 'AFTER UPDATE', when, [
      this.event(this.subject('NEW'), 'updated', `json_object('new', ${this.row('NEW')}, 'old', ${this.row('OLD')})`),
    ]);
  }

  delete(): TriggerDef {
    const subject = this.subject('OLD');
    return this.create('delete', 'AFTER DELETE', undefined, [
      this.event(subject, 'deleted', `json_object('old', ${this.row('OLD')})`),
      // With recursive_triggers on, REPLACE fires this trigger: don't record the row twice.
      this.unstage(subject),
    ]);
  }

  /**
   * INSERT OR REPLACE removes the rows NEW conflicts with, on the key or any
   * UNIQUE index, without firing DELETE triggers: stage their images for the
   * insert trigger. A trigger cannot know the conflict mode, so an IGNOREd or
   * UPSERTed insert leaves its stage behind: the recording trigger takes only
   * staged rows that are gone (rowid tables) or the next write clears the
   * stage first (WITHOUT ROWID), and the recording trigger clears what it saw.
   */
  replace(): TriggerDef {
    return this.stageConflicts('replace', 'BEFORE INSERT', this.conflict());
  }

  private stageConflicts(kind: TriggerKind, timing: string, where: string): TriggerDef {
    const from = `FROM ${q(this.table.name)} AS ${q(OLD_ALIAS)} WHERE ${where}`;
    const rid = this.ridName();
    const ridValue = rid === undefined ? 'NULL' : `${q(OLD_ALIAS)}.${q(rid)}`;
    // Rowid tables skip leftovers by rowid when recording; elsewhere the next write must clear them.
    const leftovers = rid === undefined ? ` OR EXISTS (SELECT 1 FROM ${q(REPLACED_TABLE)} WHERE source = ${this.source()})` : '';
    return this.create(kind, timing, `EXISTS (SELECT 1 ${from})${leftovers}`, [
      this.clearStage(),
      `INSERT OR REPLACE INTO ${q(REPLACED_TABLE)} (source, subject, data, rid) SELECT ${this.source()}, ${this.subject(OLD_ALIAS)}, json_object('old', ${this.row(OLD_ALIAS)}), ${ridValue} ${from}`,
    ]);
  }

  /** An existing row (audite_old) that NEW collides with on some unique key, compared as that key's index does. */
  private conflict(): string {
    const old = q(OLD_ALIAS);
    const terms: string[] = [];
    const rowid = this.table.rowidAlias ?? (this.keyIsRowid ? this.table.rowidName : undefined);
    if (rowid !== undefined) terms.push(`${old}.${q(rowid)} = NEW.${q(rowid)}`);
    for (const key of this.table.uniqueKeys) {
      const match = key.columns.map((c) => `${old}.${q(c.name)} = NEW.${q(c.name)} COLLATE ${q(c.collation)}`).join(' AND ');
      terms.push(key.columns.length > 1 ? `(${match})` : match);
    }
    return terms.length === 0 ? '0' : terms.join(' OR ');
  }

  /** Every name that reaches the rowid (no column shadows it); none for WITHOUT ROWID tables. */
  private rowidNames(): string[] {
    if (this.table.withoutRowid) return [];
    const taken = new Set(this.table.columns.map((c) => c.name.toLowerCase()));
    return ['rowid', '_rowid_', 'oid'].filter((n) => !taken.has(n));
  }

  /** The name that reaches the rowid, for rowid tables. */
  private ridName(): string | undefined {
    return this.table.withoutRowid ? undefined : (this.table.rowidAlias ?? this.table.rowidName);
  }

  private clearStage(): string {
    return `DELETE FROM ${q(REPLACED_TABLE)} WHERE source = ${this.source()}`;
  }

  /** An UPDATE that changes the key moves the row to a new identity: delete the old, create the new. */
  rekey(): TriggerDef {
    const changed = this.keyColumns.map((c) => `OLD.${q(c)} IS NOT NEW.${q(c)} COLLATE BINARY`).join(' OR ');
    // An INTEGER PRIMARY KEY is also reachable as rowid/_rowid_/oid, and UPDATE OF matches names.
    const names = this.table.rowidAlias === undefined ? this.keyColumns : [...this.keyColumns, ...this.rowidNames()];
    const timing = this.keyIsRowid ? 'AFTER UPDATE' : `AFTER UPDATE OF ${names.map(q).join(', ')}`;
    return this.create('rekey', timing, changed, [
      ...this.recordStaged(this.displacedGone()),
      this.event(this.subject('OLD'), 'deleted', `json_object('old', ${this.row('OLD')})`),
      this.event(this.subject('NEW'), 'created', `json_object('new', ${this.row('NEW')})`),
    ]);
  }

  /**
   * UPDATE OR REPLACE (or a constraint declared ON CONFLICT REPLACE) removes
   * the other rows the updated row now collides with, again without DELETE
   * triggers: stage them for the update and rekey triggers to record.
   */
  displace(): TriggerDef {
    const rid = this.ridName();
    const self =
      rid === undefined ? this.table.primaryKey.map((c) => `${q(OLD_ALIAS)}.${q(c)} = OLD.${q(c)}`).join(' AND ') : `${q(OLD_ALIAS)}.${q(rid)} = OLD.${q(rid)}`;
    return this.stageConflicts('displace', `BEFORE ${this.uniqueUpdate()}`, `(${this.conflict()}) AND NOT (${self})`);
  }

  /**
   * Records what displace staged. A displaced row has another subject than the
   * updated one, so its event may come before or after the update's; when the
   * key changes, rekey (which also records the stage) may fire first: whichever
   * runs first records and clears, the other finds nothing.
   */
  displaced(): TriggerDef {
    return this.create('displaced', `AFTER ${this.uniqueUpdate()}`, undefined, this.recordStaged(this.displacedGone()));
  }

  /**
   * Only an UPDATE that assigns a column of some unique key can collide with
   * another row, and SQLite checks `UPDATE OF` when it compiles the statement:
   * updates of other columns never run these triggers at all.
   */
  private uniqueUpdate(): string {
    const columns = new Set<string>([...this.keyColumns, ...this.rowidNames()]);
    for (const key of this.table.uniqueKeys) for (const c of key.columns) columns.add(c.name);
    return `UPDATE OF ${[...columns].map(q).join(', ')}`;
  }

  /** In a rowid table, a row staged by displace counts if it is gone, or if the updated row took its rowid. */
  private displacedGone(): string | undefined {
    const rid = this.ridName();
    if (rid === undefined) return undefined;
    const staged = `${q(STAGED_ALIAS)}.rid`;
    // Never the updated row itself: a stage left behind by an IGNOREd insert may hold its old image.
    return `${staged} IS NOT OLD.${q(rid)} AND (${staged} = NEW.${q(rid)} OR ${this.stagedRowGone(rid)})`;
  }

  private stagedRowGone(rid: string): string {
    return `NOT EXISTS (SELECT 1 FROM ${q(this.table.name)} AS ${q(OLD_ALIAS)} WHERE ${q(OLD_ALIAS)}.${q(rid)} = ${q(STAGED_ALIAS)}.rid)`;
  }

  /** Record the staged rows of this table (those passing `gone`) as deleted, then clear the stage. */
  private recordStaged(gone: string | undefined): string[] {
    const filter = gone === undefined ? '' : ` AND (${gone})`;
    return [
      `INSERT INTO ${q(FEED_TABLE)} (source, subject, type, specversion, data, context) SELECT source, subject, ${this.type('deleted')}, ${s(SPEC_VERSION)}, data, ${contextExpr} FROM ${q(REPLACED_TABLE)} AS ${q(STAGED_ALIAS)} WHERE ${q(STAGED_ALIAS)}.source = ${this.source()}${filter} ORDER BY ${q(STAGED_ALIAS)}.subject`,
      this.clearStage(),
    ];
  }

  private source(): string {
    return s(this.table.name);
  }

  private type(op: 'created' | 'updated' | 'deleted'): string {
    return s(`${this.table.name}.${op}`);
  }

  private event(subject: string, op: 'created' | 'updated' | 'deleted', data: string): string {
    return `INSERT INTO ${q(FEED_TABLE)} (source, subject, type, specversion, data, context) VALUES (${this.source()}, ${subject}, ${this.type(op)}, ${s(SPEC_VERSION)}, ${data}, ${contextExpr})`;
  }

  private unstage(subject: string): string {
    return `DELETE FROM ${q(REPLACED_TABLE)} WHERE source = ${this.source()} AND subject = ${subject}`;
  }

  private subject(ref: Ref): string {
    return subjectSql(this.table, ref);
  }

  private row(ref: Ref): string {
    return rowJsonSql(this.table, this.captured, ref);
  }
}

const contextExpr = `(SELECT data FROM ${q(CONTEXT_TABLE)} ORDER BY id DESC LIMIT 1)`;

/** Join terms as a balanced tree, so thousands of columns stay within SQLite's expression depth limit. */
function balanced(terms: string[], op: 'AND' | 'OR'): string {
  if (terms.length === 1) return terms[0] as string;
  const mid = Math.ceil(terms.length / 2);
  return `(${balanced(terms.slice(0, mid), op)} ${op} ${balanced(terms.slice(mid), op)})`;
}
