import type { PgClient } from './pg-client.ts';
import { connectError } from './pg-errors.ts';

export interface ConnectOptions {
  /** Shown in pg_stat_activity, so operators can tell the relay's sessions apart. */
  applicationName?: string;
  connectTimeoutMs?: number;
  /** Session settings applied at connect (and so again after a reconnect), e.g. synchronous_commit. */
  settings?: Readonly<Record<string, string>>;
}

// json and jsonb come back as text: parsing them would turn integers beyond 2^53 into doubles.
const RAW_JSON_OIDS = new Set([114, 3802]);

/**
 * Opens one connection. `pg` is imported here, lazily, so a SQLite-only run
 * never loads it. bigint (int8) values come back as strings, `pg`'s default.
 */
export async function connectPostgres(url: string, options: ConnectOptions = {}): Promise<PgClient> {
  const pg = (await import('pg')).default;
  const client = new pg.Client({
    connectionString: url,
    application_name: options.applicationName ?? 'audite',
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    // Sent in the startup packet: no extra round trip, and a reconnect gets them too.
    ...(options.settings === undefined ? {} : { options: startupOptions(options.settings) }),
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        RAW_JSON_OIDS.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // Without a listener, a server-side disconnect outside a query is an uncaught 'error' event.
  let onError: (error: Error) => void = () => {};
  client.on('error', (error) => onError(error));
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw connectError(url, error);
  }
  let ended: Promise<void> | undefined;
  return {
    query: async <R>(text: string, values?: readonly unknown[]) => {
      const result = await client.query(text, values as unknown[] | undefined);
      return { rows: result.rows as R[], rowCount: result.rowCount };
    },
    end: () => (ended ??= client.end().catch(() => {})),
    onError: (listener) => {
      onError = listener;
    },
  };
}

/** `-c name=value` pairs for the startup packet; names and values are ours, never user input, but escaped anyway. */
function startupOptions(settings: Readonly<Record<string, string>>): string {
  const escape = (text: string): string => text.replace(/[\\ ]/g, (c) => `\\${c}`);
  return Object.entries(settings)
    .map(([name, value]) => `-c ${escape(name)}=${escape(value)}`)
    .join(' ');
}
