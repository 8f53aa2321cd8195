import { quoteString } from '../sqlite/quote.ts';

/** A value as it is bound to a statement: what restore writes. */
export type BindValue = string | number | bigint | null | Buffer;

/**
 * A bound value as SQL text, for `--dry-run` scripts that run as printed:
 * integers stay exact, reals keep a decimal point (so they stay REAL), BLOBs
 * are X'..' literals.
 */
export function sqlLiteral(value: BindValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NULL';
    if (!Number.isFinite(value)) return value > 0 ? '9e999' : '-9e999';
    const text = String(value);
    return Number.isInteger(value) && !/e/i.test(text) ? `${text}.0` : text;
  }
  if (Buffer.isBuffer(value)) return `X'${value.toString('hex').toUpperCase()}'`;
  // quoteString refuses NUL; such text goes through a BLOB literal.
  return value.includes('\0') ? `CAST(X'${Buffer.from(value, 'utf8').toString('hex').toUpperCase()}' AS TEXT)` : quoteString(value);
}

/** A statement with its parameters, and the same statement with the values written in. */
export interface BoundSql {
  sql: string;
  params: BindValue[];
  literal: string;
}

/** SQL text interleaved with values: raw strings are SQL (already quoted), `{ value }` a bound parameter. */
export type SqlPart = string | { value: BindValue };

/** Builds both forms from one list, so a `?` inside an identifier can never be mistaken for a placeholder. */
export function bindSql(parts: readonly SqlPart[]): BoundSql {
  let sql = '';
  let literal = '';
  const params: BindValue[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      sql += part;
      literal += part;
    } else {
      sql += '?';
      literal += sqlLiteral(part.value);
      params.push(part.value);
    }
  }
  return { sql, params, literal };
}
