import { AuditeError } from '../../errors.ts';
import { connectPostgres } from '../../postgres/connect.ts';
import { redactUrl } from '../../postgres/database-url.ts';
import type { PgClient, PgQueryResult } from '../../postgres/pg-client.ts';
import { isPgUnavailable, pgErrorCode } from '../../postgres/pg-errors.ts';

export const RELAY_APPLICATION_NAME = 'audite relay';

export interface PgConnectionOptions {
  url: string;
  applicationName?: string;
  settings?: Readonly<Record<string, string>>;
}

/**
 * One PostgreSQL session that comes back after the server went away. It never
 * retries a statement itself (the caller knows whether that is safe): a lost
 * connection is dropped, the statement fails with DB_UNAVAILABLE, and the
 * next query connects again. Attempts are
 * spaced by capped exponential backoff with jitter, on [d/2, d] with
 * d = min(5 s, 100 ms × 2^(n-1)): 50–100 ms, 100–200 ms, 200–400 ms,
 * 0.4–0.8 s, 0.8–1.6 s, 1.6–3.2 s, then 2.5–5 s. Meanwhile queries fail at
 * once with the last connection error. The relay's consumer loop adds its
 * own backoff on top (50–100 ms … 15–30 s, see consumer.ts), so a consumer
 * polls a dead server gently and resumes from its checkpoint when it returns.
 */
export class PgConnection implements PgClient {
  private readonly options: PgConnectionOptions;
  private client: PgClient | undefined;
  private connecting: Promise<PgClient> | undefined;
  private failures = 0;
  private retryAt = 0;
  private lastError: unknown;
  private closed = false;

  constructor(options: PgConnectionOptions) {
    this.options = options;
  }

  /** Connects now (start-up wants the error at once, with its exit code). */
  async open(): Promise<void> {
    await this.connect();
  }

  async query<R = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<PgQueryResult<R>> {
    const client = await this.connect();
    try {
      return await client.query<R>(text, values);
    } catch (error) {
      if (!isConnectionLost(error)) throw error;
      this.drop(client);
      const what = pgErrorCode(error) ?? (error instanceof Error ? error.message.split('\n')[0] : 'error');
      throw new AuditeError('DB_UNAVAILABLE', `lost the connection to ${redactUrl(this.options.url)} (${what}); reconnecting`, { cause: error });
    }
  }

  async end(): Promise<void> {
    this.closed = true;
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end();
  }

  private async connect(): Promise<PgClient> {
    if (this.closed) throw new AuditeError('INTERNAL', 'PostgreSQL connection used after it was closed');
    if (this.client !== undefined) return this.client;
    if (this.connecting !== undefined) return this.connecting;
    if (Date.now() < this.retryAt) throw this.lastError;
    this.connecting = connectPostgres(this.options.url, {
      applicationName: this.options.applicationName ?? RELAY_APPLICATION_NAME,
      ...(this.options.settings === undefined ? {} : { settings: this.options.settings }),
    });
    try {
      const client = await this.connecting;
      client.onError(() => this.drop(client));
      this.failures = 0;
      if (this.closed) {
        await client.end();
        throw new AuditeError('INTERNAL', 'PostgreSQL connection used after it was closed');
      }
      this.client = client;
      return client;
    } catch (error) {
      this.failures += 1;
      this.lastError = error;
      this.retryAt = Date.now() + reconnectDelay(this.failures);
      throw error;
    } finally {
      this.connecting = undefined;
    }
  }

  /** A lost session is replaced on the next query, so there is nothing to report. */
  onError(_listener: (error: Error) => void): void {}

  private drop(client: PgClient): void {
    if (this.client === client) this.client = undefined;
    void client.end();
  }
}

export function reconnectDelay(failures: number, random: () => number = Math.random): number {
  const ceiling = Math.min(5000, 100 * 2 ** Math.min(failures - 1, 16));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * The session is gone or unusable: no SQLSTATE (a socket error, "Connection
 * terminated"), a connection exception (08…), or an operator intervention
 * (57P…: terminated, shutting down, starting up).
 */
export function isConnectionLost(error: unknown): boolean {
  if (isPgUnavailable(error)) return true;
  const code = pgErrorCode(error);
  return code === undefined || code.startsWith('08') || code.startsWith('57P');
}
