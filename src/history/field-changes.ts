import { AuditeError } from '../errors.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import type { AuditContext, AuditEvent, ChangeOp } from './audit-event.ts';
import type { SqlValue } from './feed-json.ts';
import { iterateHistory, type HistoryFilter } from './history-query.ts';
import { eventDiff } from './row-diff.ts';

/**
 * One changed field of one event, with who and why. For a `created` event
 * every captured field is listed with old = null; for `deleted` every field
 * with new = null; for `updated` only the fields whose value changed.
 */
export interface FieldChange {
  eventId: number;
  op: ChangeOp;
  type: string;
  table: string;
  key: string;
  field: string;
  old: SqlValue;
  new: SqlValue;
  time: number;
  actor: string | null;
  reason: string | null;
  impersonatedBy: string | null;
  requestId: string | null;
  /** The full context, free-form keys included. */
  context: AuditContext;
}

export function eventFieldChanges(event: AuditEvent): FieldChange[] {
  const { context } = event;
  return eventDiff(event).map((d) => ({
    eventId: event.id,
    op: event.op,
    type: event.type,
    table: event.table,
    key: event.key,
    field: d.field,
    old: d.old,
    new: d.new,
    time: event.time,
    actor: context.actor,
    reason: context.reason,
    impersonatedBy: context.impersonatedBy,
    requestId: context.requestId,
    context,
  }));
}

/**
 * Field-level history: the filter selects events as in queryHistory, `fields`
 * then also narrows the rows to those fields, and `limit` counts rows.
 */
export function* iterateFieldChanges(db: SqliteDatabase, filter: HistoryFilter = {}): Generator<FieldChange> {
  const fields = filter.fields !== undefined && filter.fields.length > 0 ? new Set(filter.fields) : undefined;
  const { limit, ...eventFilter } = filter;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new AuditeError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${String(limit)}`);
  }
  if (limit === 0) return;
  let count = 0;
  for (const event of iterateHistory(db, eventFilter)) {
    // Fields stay in column order within an event, whichever way events run.
    for (const row of eventFieldChanges(event)) {
      if (fields !== undefined && !fields.has(row.field)) continue;
      yield row;
      count += 1;
      if (limit !== undefined && count >= limit) return;
    }
  }
}

export function fieldChanges(db: SqliteDatabase, filter: HistoryFilter = {}): FieldChange[] {
  return [...iterateFieldChanges(db, filter)];
}
