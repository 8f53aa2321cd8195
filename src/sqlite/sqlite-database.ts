/**
 * The few methods audite needs from a SQLite connection. better-sqlite3's
 * Database satisfies this structurally; so does any wrapper a user passes in.
 */
export interface RunResult {
  changes: number;
  lastInsertRowid: number | bigint;
}

export interface SqliteStatement {
  run(...params: unknown[]): RunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  iterate(...params: unknown[]): IterableIterator<unknown>;
  safeIntegers(toggle?: boolean): this;
  raw(toggle?: boolean): this;
  pluck(toggle?: boolean): this;
}

export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  close(): unknown;
  readonly inTransaction: boolean;
  readonly open: boolean;
  readonly name: string;
}
