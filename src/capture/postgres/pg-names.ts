import { createHash } from 'node:crypto';

/** PostgreSQL truncates identifiers to 63 bytes (NAMEDATALEN - 1). */
const MAX_IDENT_BYTES = 63;

export type PgTriggerOp = 'insert' | 'update' | 'delete' | 'truncate';
export const PG_TRIGGER_OPS: readonly PgTriggerOp[] = ['insert', 'update', 'delete', 'truncate'];

/** Per-table capture functions are named capture_<readable part>_<hash>: this prefix finds them. */
export const CAPTURE_FUNCTION_PREFIX = 'capture_';

function hash8(input: string): string {
  return createHash('sha256').update(input).digest('hex').slice(0, 8);
}

/** `text` cut to at most `bytes` UTF-8 bytes without splitting a character. */
function cut(text: string, bytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > bytes) break;
    out += ch;
  }
  return out;
}

/**
 * The capture function of a table, in audite's schema. The readable part is
 * the table's name reduced to [a-z0-9_]; the hash of the exact schema and name
 * keeps two tables from ever sharing a function, however long or odd the names.
 */
export function captureFunctionName(tableSchema: string, table: string): string {
  const hash = hash8(`${tableSchema}\u0000${table}`);
  const readable = `${tableSchema === 'public' ? '' : `${tableSchema}_`}${table}`.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  return `${CAPTURE_FUNCTION_PREFIX}${cut(readable, MAX_IDENT_BYTES - CAPTURE_FUNCTION_PREFIX.length - 9)}_${hash}`;
}

/**
 * A capture trigger's name on its table: `!<schema>_capture_<op>`, e.g.
 * `!audite_capture_insert`; one per feed schema, so two feeds may capture the
 * same table. PostgreSQL fires triggers of the same event in name order
 * (bytewise): the leading '!' puts capture before the app's own triggers, so
 * a row an app trigger writes again is recorded after the write that caused
 * it. A schema name too long for that gets a hash instead of its tail.
 */
export function captureTriggerName(feedSchema: string, op: PgTriggerOp): string {
  return withinLimit('!', feedSchema, `_capture_${op}`);
}

/** The NOLOGIN role that owns the capture functions of a feed schema: `<schema>_capture`. Roles are cluster-wide. */
export function captureRoleName(feedSchema: string): string {
  return withinLimit('', feedSchema, '_capture');
}

function withinLimit(prefix: string, feedSchema: string, suffix: string): string {
  const name = `${prefix}${feedSchema}${suffix}`;
  if (Buffer.byteLength(name) <= MAX_IDENT_BYTES) return name;
  const tail = `_${hash8(feedSchema)}${suffix}`;
  return `${prefix}${cut(feedSchema, MAX_IDENT_BYTES - Buffer.byteLength(prefix) - Buffer.byteLength(tail))}${tail}`;
}

/** The transaction-level advisory lock that serialises enable and disable of one feed schema (a signed 64-bit key, as text). */
export function installLockKey(feedSchema: string): string {
  return createHash('sha256').update(`audite install\u0000${feedSchema}`).digest().readBigInt64BE(0).toString();
}
