/**
 * JSON of the feed's `data` and `context` columns, read without losing
 * integers. SQLite integers are 64-bit; a JS number holds only 53 bits, so a
 * plain JSON.parse would silently round an id like 9007199254740993.
 */

/**
 * A captured column value: TEXT, INTEGER (bigint beyond 2^53, or always in
 * exact mode), REAL, NULL; BLOBs arrive as upper-case hex text. Booleans come
 * only from PostgreSQL feeds (SQLite has none).
 */
export type SqlValue = string | number | bigint | boolean | null;

/** One captured row image: column name → value. */
export type RowImage = Record<string, SqlValue>;

export interface ParseOptions {
  /**
   * 'auto' (default): integers that fit a JS number stay numbers, larger ones become bigint.
   * 'bigint': every integer literal becomes bigint, so binding it back stores an INTEGER
   * (better-sqlite3 binds every JS number as REAL).
   */
  integers?: 'auto' | 'bigint';
}

interface ReviverContext {
  source?: string;
}
type Reviver = (this: unknown, key: string, value: unknown, context?: ReviverContext) => unknown;
// Node 24 passes the literal's source text as the reviver's third argument; TypeScript's lib predates it.
const parseWithSource = JSON.parse as (text: string, reviver: Reviver) => unknown;

const INTEGER_LITERAL = /^-?\d+$/;

export function parseFeedJson(text: string, options: ParseOptions = {}): unknown {
  const allBigint = options.integers === 'bigint';
  return parseWithSource(text, (_key, value, context) => {
    if (typeof value !== 'number' || context?.source === undefined || !INTEGER_LITERAL.test(context.source)) return value;
    if (allBigint || !Number.isSafeInteger(value)) return BigInt(context.source);
    return value;
  });
}

/** Narrow an unknown JSON value to a row image; non-scalar members (never written by the triggers) become their JSON text. */
export function toRowImage(value: unknown): RowImage | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const row: RowImage = {};
  for (const [name, member] of Object.entries(value)) row[name] = toSqlValue(member);
  return row;
}

function toSqlValue(value: unknown): SqlValue {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return value;
  return stringifyFeedJson(value);
}

type RawJson = (text: string) => unknown;
const rawJSON = (JSON as unknown as { rawJSON: RawJson }).rawJSON;

/** JSON.stringify that writes bigint as a bare integer, exactly. */
export function stringifyFeedJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, member: unknown) => (typeof member === 'bigint' ? rawJSON(member.toString()) : member), indent);
}

/** Equality of captured values: same kind and value; 1 and 1.0 are equal, 1 and "1" are not. */
export function sameValue(a: SqlValue | undefined, b: SqlValue | undefined): boolean {
  const x = a ?? null;
  const y = b ?? null;
  if (x === null || y === null) return x === y;
  if (typeof x === 'string' || typeof y === 'string' || typeof x === 'boolean' || typeof y === 'boolean') return x === y;
  // Numbers and bigints compare by numeric value, exactly.
  if (typeof x === 'bigint' && typeof y === 'bigint') return x === y;
  if (typeof x === 'number' && typeof y === 'number') return x === y || (Number.isNaN(x) && Number.isNaN(y));
  const big = typeof x === 'bigint' ? x : (y as bigint);
  const num = typeof x === 'number' ? x : (y as number);
  return Number.isInteger(num) && BigInt(num) === big;
}
