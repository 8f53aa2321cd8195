/**
 * The one place where names and strings become SQL text. Every identifier in
 * generated SQL goes through quoteIdent, every string constant through
 * quoteString, so a table called `x"; DROP TABLE y; --` stays a name.
 */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new TypeError('identifier contains a NUL character');
  return `"${name.replaceAll('"', '""')}"`;
}

export function quoteString(value: string): string {
  if (value.includes('\0')) throw new TypeError('string contains a NUL character');
  return `'${value.replaceAll("'", "''")}'`;
}
