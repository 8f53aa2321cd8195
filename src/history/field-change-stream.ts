import { AuditeError } from '../errors.ts';
import type { AuditEvent } from './audit-event.ts';
import { eventFieldChanges, type FieldChange } from './field-changes.ts';
import type { HistoryFilter } from './history-query.ts';

/**
 * Field-level rows from an event stream, for backends whose events arrive
 * asynchronously: as iterateFieldChanges, `fields` narrows the rows and
 * `limit` counts rows. `events` gets the filter without its limit.
 */
export async function* streamFieldChanges(
  events: (filter: HistoryFilter) => AsyncIterable<AuditEvent>,
  filter: HistoryFilter = {},
): AsyncGenerator<FieldChange> {
  const fields = filter.fields !== undefined && filter.fields.length > 0 ? new Set(filter.fields) : undefined;
  const { limit, ...eventFilter } = filter;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
    throw new AuditeError('INVALID_ARGUMENT', `limit must be a non-negative integer, got ${String(limit)}`);
  }
  if (limit === 0) return;
  let count = 0;
  for await (const event of events(eventFilter)) {
    for (const row of eventFieldChanges(event)) {
      if (fields !== undefined && !fields.has(row.field)) continue;
      yield row;
      count += 1;
      if (limit !== undefined && count >= limit) return;
    }
  }
}
