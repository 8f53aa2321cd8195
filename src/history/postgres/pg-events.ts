import { decodeEvent, type AuditEvent, type FeedRow } from '../audit-event.ts';
import type { ParseOptions, RowImage } from '../feed-json.ts';

/** Gives the column order of a source's live table (empty when unknown). */
export type ColumnOrder = (source: string) => Promise<readonly string[]>;

/**
 * A feed row from PostgreSQL as an AuditEvent: the same decoding as SQLite
 * (integers exact), an update's `new` always the whole row after it, and the
 * images' columns put back in table order.
 */
export async function decodePgEvent(row: FeedRow, order: ColumnOrder, options: ParseOptions = {}): Promise<AuditEvent> {
  const decoded = decodeEvent(row, options);
  // A feed enabled with changed-only updates keeps in `new` just what changed: the row after is old patched with it.
  const event = decoded.op === 'updated' && decoded.old !== null && decoded.new !== null ? { ...decoded, new: { ...decoded.old, ...decoded.new } } : decoded;
  if (event.new === null && event.old === null) return event;
  const columns = await order(event.table);
  if (columns.length === 0) return event;
  return { ...event, new: reorder(event.new, columns), old: reorder(event.old, columns) };
}

function reorder(image: RowImage | null, columns: readonly string[]): RowImage | null {
  if (image === null) return null;
  const row: RowImage = {};
  for (const name of columns) if (Object.hasOwn(image, name)) row[name] = image[name] ?? null;
  for (const [name, value] of Object.entries(image)) if (!Object.hasOwn(row, name)) row[name] = value;
  return row;
}
