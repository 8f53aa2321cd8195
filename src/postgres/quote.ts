/**
 * The one place where names and strings become PostgreSQL SQL text. Every
 * identifier in generated SQL goes through quoteIdent and every string
 * constant through quoteLiteral, so a table called `x"; DROP TABLE y; --`
 * stays a name. (Values from users go as bind parameters wherever SQL allows.)
 */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new TypeError('identifier contains a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}

/** A standard-conforming string literal (E'' escapes are never produced). */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new TypeError('string contains a NUL character');
  return `'${value.replaceAll("'", "''")}'`;
}

/** `"schema"."name"` */
export function qualified(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
