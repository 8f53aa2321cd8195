import { AuditeError } from '../errors.ts';
import { isPostgresUrl } from '../postgres/database-url.ts';
import type { AuditStore, OpenAuditStoreOptions } from './audit-store.ts';
import { openSqliteAuditStore } from './sqlite-audit-store.ts';

/**
 * The audit store for a `<db>` argument: a postgres:// URL or a SQLite file.
 * The PostgreSQL side is imported lazily, so a SQLite run never loads `pg`.
 */
export async function openAuditStore(database: string, options: OpenAuditStoreOptions = {}): Promise<AuditStore> {
  if (isPostgresUrl(database)) {
    const { openPgAuditStore } = await import('./postgres/pg-audit-store.ts');
    return openPgAuditStore(database, options);
  }
  if (options.schema !== undefined) throw new AuditeError('INVALID_ARGUMENT', '--schema applies to PostgreSQL databases only (a postgres:// URL)');
  return openSqliteAuditStore(database, options);
}
