import type { AuditEvent } from './audit-event.ts';
import { sameValue, type RowImage, type SqlValue } from './feed-json.ts';

export interface FieldDiff {
  field: string;
  old: SqlValue;
  new: SqlValue;
}

/**
 * The columns whose value differs between two images, in column order. A
 * missing image counts as all-null, so a created row lists every field with
 * old = null and a deleted row every field with new = null. A column present
 * in one image only (added or dropped between the two) counts as null in the other.
 */
export function diffRows(before: RowImage | null, after: RowImage | null): FieldDiff[] {
  if (before === null && after === null) return [];
  if (before === null) return Object.entries(after ?? {}).map(([field, value]) => ({ field, old: null, new: value }));
  if (after === null) return Object.entries(before).map(([field, value]) => ({ field, old: value, new: null }));
  const fields = [...Object.keys(after), ...Object.keys(before).filter((f) => !(f in after))];
  const diffs: FieldDiff[] = [];
  for (const field of fields) {
    const old = before[field] ?? null;
    const value = after[field] ?? null;
    if (!sameValue(old, value)) diffs.push({ field, old, new: value });
  }
  return diffs;
}

/** The fields an event touched: the changed ones of an update, every captured one of a create or delete. */
export function eventDiff(event: AuditEvent): FieldDiff[] {
  return diffRows(event.op === 'created' ? null : event.old, event.op === 'deleted' ? null : event.new);
}

/** Whether the event touched any of `fields` (see eventDiff). */
export function touchesAny(event: AuditEvent, fields: ReadonlySet<string>): boolean {
  return eventDiff(event).some((d) => fields.has(d.field));
}
