import type { AuditEvent } from './audit-event.ts';
import { stringifyFeedJson, type RowImage, type SqlValue } from './feed-json.ts';
import type { FieldChange } from './field-changes.ts';
import { eventDiff, type FieldDiff } from './row-diff.ts';
import { formatTime } from './time-input.ts';

/**
 * Human and JSON views of audit answers, shared by `history`, `show` and
 * `restore`. Text: aligned columns, values as JSON literals (strings quoted,
 * NULL as null), long cells cut. JSON: the library's objects, bigints exact.
 */

const MAX_CELL = 48;

export function formatValue(value: SqlValue | undefined): string {
  return stringifyFeedJson(value ?? null);
}

function cut(text: string, max = MAX_CELL): string {
  const line = text.replace(/[\r\n\t]/g, ' ');
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** Rows as aligned text lines; the last column is not padded. */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)];
}

/** `name: "Al" → "Alice"` for updates; the captured row for creates and deletes. */
export function summarizeChanges(event: AuditEvent): string {
  if (event.op === 'updated') {
    const diffs = eventDiff(event);
    return diffs.length === 0
      ? '(no captured column changed)'
      : diffs.map((d) => `${d.field}: ${cut(formatValue(d.old), 24)} → ${cut(formatValue(d.new), 24)}`).join(', ');
  }
  if (event.op === 'truncated') return '(every row of the table removed)';
  const row = (event.op === 'created' ? event.new : event.old) ?? {};
  return Object.entries(row)
    .map(([field, value]) => `${field}=${cut(formatValue(value), 24)}`)
    .join(', ');
}

interface ContextColumns {
  impersonatedBy: boolean;
  requestId: boolean;
}

/** impersonated_by and request_id get a column only when some row has one. */
function contextColumns(contexts: readonly { impersonatedBy: string | null; requestId: string | null }[]): ContextColumns {
  return { impersonatedBy: contexts.some((c) => c.impersonatedBy !== null), requestId: contexts.some((c) => c.requestId !== null) };
}

function contextCells(
  c: { actor: string | null; reason: string | null; impersonatedBy: string | null; requestId: string | null },
  shown: ContextColumns,
): string[] {
  const cells = [c.actor ?? '', cut(c.reason ?? '', 32)];
  if (shown.impersonatedBy) cells.push(c.impersonatedBy ?? '');
  if (shown.requestId) cells.push(c.requestId ?? '');
  return cells;
}

function contextHeaders(shown: ContextColumns): string[] {
  return ['ACTOR', 'REASON', ...(shown.impersonatedBy ? ['IMPERSONATED_BY'] : []), ...(shown.requestId ? ['REQUEST_ID'] : [])];
}

export function renderEvents(events: readonly AuditEvent[]): string[] {
  const shown = contextColumns(events.map((e) => e.context));
  const headers = ['ID', 'TIME', 'TABLE', 'KEY', 'TYPE', ...contextHeaders(shown), 'CHANGES'];
  const rows = events.map((e) => [
    String(e.id),
    formatTime(e.time),
    e.table,
    cut(e.key, 32),
    e.op,
    ...contextCells(e.context, shown),
    cut(summarizeChanges(e), 120),
  ]);
  return renderTable(headers, rows);
}

export function renderFieldChanges(changes: readonly FieldChange[]): string[] {
  const shown = contextColumns(changes);
  const headers = ['ID', 'TIME', 'TABLE', 'KEY', 'TYPE', 'FIELD', 'OLD', 'NEW', ...contextHeaders(shown)];
  const rows = changes.map((c) => [
    String(c.eventId),
    formatTime(c.time),
    c.table,
    cut(c.key, 32),
    c.op,
    c.field,
    cut(formatValue(c.old)),
    cut(formatValue(c.new)),
    ...contextCells(c, shown),
  ]);
  return renderTable(headers, rows);
}

/** `show`: attributes, context, and the diff (updates) or the row (creates, deletes). */
export function renderEventDetail(event: AuditEvent): string[] {
  const c = event.context;
  const attributes: [string, string][] = [
    ['event', String(event.id)],
    ['type', event.type],
    ['table', event.table],
    ['key', event.key],
    ['time', `${formatTime(event.time)} (${event.time})`],
    ['actor', c.actor ?? ''],
    ['reason', c.reason ?? ''],
    ['impersonated_by', c.impersonatedBy ?? ''],
    ['request_id', c.requestId ?? ''],
  ];
  if (Object.keys(c.extra).length > 0) attributes.push(['context', stringifyFeedJson(c.extra)]);
  const lines = attributes.map(([name, value]) => `${name.padEnd(16)} ${value}`.trimEnd());
  lines.push('');
  if (event.op === 'updated') {
    const diffs = eventDiff(event);
    lines.push(diffs.length === 0 ? 'changes: none of the captured columns changed' : 'changes:');
    if (diffs.length > 0) lines.push(...indent(renderDiff(diffs)));
  } else if (event.op === 'truncated') {
    lines.push('the table was truncated: every row removed (no row images are recorded)');
  } else {
    lines.push(event.op === 'created' ? 'row (as created):' : 'row (as it was before the delete):');
    lines.push(...indent(renderRow(event.op === 'created' ? event.new : event.old)));
  }
  return lines;
}

export function renderDiff(diffs: readonly FieldDiff[]): string[] {
  return renderTable(
    ['FIELD', 'OLD', 'NEW'],
    diffs.map((d) => [d.field, formatValue(d.old), formatValue(d.new)]),
  );
}

export function renderRow(row: RowImage | null): string[] {
  return renderTable(
    ['FIELD', 'VALUE'],
    Object.entries(row ?? {}).map(([field, value]) => [field, formatValue(value)]),
  );
}

function indent(lines: readonly string[]): string[] {
  return lines.map((l) => `  ${l}`);
}

/** An event for `--json`: the library object, plus its ISO time and the fields it touched. */
export function eventJson(event: AuditEvent): string {
  return stringifyFeedJson({ ...event, timeIso: formatTime(event.time), changes: eventDiff(event) });
}

export function fieldChangeJson(change: FieldChange): string {
  const { context, ...rest } = change;
  // The named context keys are already columns of the row; keep only the free-form ones.
  return stringifyFeedJson({ ...rest, timeIso: formatTime(change.time), extra: context.extra });
}
