/**
 * The few methods audite needs from a PostgreSQL connection, declared here
 * rather than imported from `pg`, so the seam stays small and any client that
 * offers them will do.
 */
export interface PgQueryResult<R> {
  rows: R[];
  rowCount: number | null;
}

export interface PgClient {
  query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgQueryResult<R>>;
  /** Closes the connection; safe to call twice. */
  end(): Promise<void>;
  /** Called with a connection-level error (server gone, admin shutdown) once, outside any query. */
  onError(listener: (error: Error) => void): void;
}
