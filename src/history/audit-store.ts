import type { AuditEvent } from './audit-event.ts';
import type { RowImage } from './feed-json.ts';
import type { FieldChange } from './field-changes.ts';
import type { HistoryFilter } from './history-query.ts';
import type { AsOf, RowVersion } from './point-in-time.ts';
import type { RestoreOptions } from './restore-plan.ts';
import type { FieldDiff } from './row-diff.ts';

/**
 * What the audit commands need from a feed, whichever database holds it:
 * SQLite (sqlite-audit-store.ts) or PostgreSQL (postgres/pg-audit-store.ts).
 * Inputs and answers are the same on both: times are unix seconds, answers
 * are AuditEvents with exact integers.
 */
export interface AuditStore {
  /** The database as messages may show it (a PostgreSQL URL without its password). */
  readonly name: string;
  /** One line telling the operator that this filter reads every event because an audit index is missing; undefined when none is. */
  indexHint(filter: HistoryFilter): Promise<string | undefined>;
  /** Matching events, in feed order (or newest first). Finish or break out of the loop before calling anything else. */
  history(filter: HistoryFilter): AsyncIterable<AuditEvent>;
  /** One row per changed field of the matching events; `limit` counts rows. */
  fieldChanges(filter: HistoryFilter): AsyncIterable<FieldChange>;
  /** One event by id: NOT_FOUND when out of range or pruned. */
  getEvent(id: number): Promise<AuditEvent>;
  /** The state of one record as of an event id or a time. */
  rowAsOf(table: string, key: string, at: AsOf): Promise<RowVersion>;
  /** What restore would do, reading only. */
  planRestore(options: RestoreOptions): Promise<RestorePreview>;
  /** Brings the row back, in one transaction, recorded with reason `restore` and the restored event id. */
  restore(options: RestoreOptions): Promise<RestoreOutcome>;
  close(): Promise<void>;
}

/** A restore plan as the CLI shows it, whichever backend made it. */
export interface RestorePreview {
  table: string;
  key: string;
  /** 'none': the row already holds that version. */
  action: 'insert' | 'update' | 'none';
  /** The event whose image is written back (see RowVersion.image). */
  restoredEventId: number;
  /** The version written back: the captured columns, integers exact (bigint). */
  row: RowImage;
  /** The row now, or null when it does not exist. */
  current: RowImage | null;
  /** What the restore changes: every column for an insert, the differing ones for an update. */
  changes: FieldDiff[];
  /** The whole transaction as runnable SQL, values written in (empty for 'none'). */
  script: string[];
  /** Columns the restore leaves alone, and why. */
  notes: string[];
}

export interface RestoreOutcome extends RestorePreview {
  /** False when the row already held that version: nothing was written. */
  applied: boolean;
  /** Ids of the feed events the restore produced. */
  eventIds: number[];
}

export interface OpenAuditStoreOptions {
  /** Open for restore (writes); default read-only. */
  write?: boolean;
  /** How long to wait for another writer's lock. */
  busyTimeoutMs?: number;
  /** PostgreSQL only: the schema audite's objects live in (default `audite`). */
  schema?: string;
}
