import { parseFeedJson, toRowImage, type ParseOptions, type RowImage } from './feed-json.ts';

/** `truncated` (a whole table emptied, no key, no images) is recorded on PostgreSQL only. */
export type ChangeOp = 'created' | 'updated' | 'deleted' | 'truncated';
export const CHANGE_OPS: readonly ChangeOp[] = ['created', 'updated', 'deleted', 'truncated'];

/**
 * Who and why. Events written by Python audite (no context column) or by a
 * writer that set no context have every named field null and `extra` empty.
 */
export interface AuditContext {
  actor: string | null;
  reason: string | null;
  impersonatedBy: string | null;
  requestId: string | null;
  /** Every other key of the context object (e.g. restored_event_id). */
  extra: Record<string, unknown>;
}

/** One row of audite_changefeed, decoded. */
export interface AuditEvent {
  id: number;
  table: string;
  /** The key as text: audite's subject (compound keys joined by ':'; rowid for tables without a key). */
  key: string;
  op: ChangeOp;
  /** The stored CloudEvents type, `<table>.<op>`. */
  type: string;
  /** Unix seconds. */
  time: number;
  /** Row after the change (created, updated); null for deleted and truncated. */
  new: RowImage | null;
  /** Row before the change (updated, deleted); null for created and truncated. */
  old: RowImage | null;
  context: AuditContext;
}

/** The feed row as selected by history queries (see feed-access.ts). */
export interface FeedRow {
  id: number;
  source: string;
  subject: string;
  type: string;
  time: number;
  data: string | null;
  context: string | null;
}

export const EMPTY_CONTEXT: AuditContext = Object.freeze({
  actor: null,
  reason: null,
  impersonatedBy: null,
  requestId: null,
  extra: Object.freeze({}),
}) as AuditContext;

export function decodeEvent(row: FeedRow, options: ParseOptions = {}): AuditEvent {
  const data = row.data === null ? null : parseData(row.data, options);
  const images = data !== null && typeof data === 'object' ? (data as Record<string, unknown>) : {};
  const newImage = toRowImage(images.new);
  const oldImage = toRowImage(images.old);
  return {
    id: row.id,
    table: row.source,
    key: row.subject,
    op: opOf(row.type, newImage, oldImage),
    type: row.type,
    time: row.time,
    new: newImage,
    old: oldImage,
    context: decodeContext(row.context),
  };
}

/** Malformed data (never written by the triggers) reads as no images rather than failing the whole history. */
function parseData(text: string, options: ParseOptions): unknown {
  try {
    return parseFeedJson(text, options);
  } catch {
    return null;
  }
}

/** The type names the op after the last dot; a row from another writer falls back to the data's shape. */
function opOf(type: string, newImage: RowImage | null, oldImage: RowImage | null): ChangeOp {
  const suffix = type.slice(type.lastIndexOf('.') + 1);
  if ((CHANGE_OPS as readonly string[]).includes(suffix)) return suffix as ChangeOp;
  if (newImage !== null && oldImage !== null) return 'updated';
  return newImage !== null ? 'created' : 'deleted';
}

const NAMED: Record<string, keyof Omit<AuditContext, 'extra'>> = {
  actor: 'actor',
  reason: 'reason',
  impersonated_by: 'impersonatedBy',
  request_id: 'requestId',
};

export function decodeContext(text: string | null): AuditContext {
  if (text === null) return { ...EMPTY_CONTEXT, extra: {} };
  let parsed: unknown;
  try {
    parsed = parseFeedJson(text);
  } catch {
    // A hand-written, malformed context must not make history unreadable.
    return { ...EMPTY_CONTEXT, extra: { raw: text } };
  }
  const context: AuditContext = { ...EMPTY_CONTEXT, extra: {} };
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return context;
  for (const [key, value] of Object.entries(parsed)) {
    const field = NAMED[key];
    if (field === undefined) context.extra[key] = value;
    else context[field] = value === null || value === undefined ? null : String(value);
  }
  return context;
}
