import type { PgClient } from '../../postgres/pg-client.ts';
import { pgErrorCode } from '../../postgres/pg-errors.ts';
import { qualified, quoteIdent as q } from '../../postgres/quote.ts';
import { DRIFT_COLUMNS_FUNCTION, DRIFT_SUBJECT_FUNCTION } from './pg-drift-functions.ts';
import { DEFAULT_PG_SCHEMA, PG_CURSOR_TABLE, PG_DEAD_LETTER_TABLE, PG_FEED_TABLE, PG_FEED_VIEW, PG_SETTINGS_TABLE } from './pg-feed-schema.ts';
import { readInstalled } from './pg-installed.ts';
import { CAPTURE_FUNCTION_PREFIX, captureRoleName } from './pg-names.ts';
import { assertFeedSchema } from './pg-enable-plan.ts';
import { DEFAULT_PG_LOCK_TIMEOUT_MS, inInstallTransaction, installError } from './pg-transaction.ts';

export interface PgDisableOptions {
  schema?: string;
  /** Also drop the feed, cursors, dead letters and settings (feed history included), and the schema once empty. */
  dropTables?: boolean;
  dryRun?: boolean;
  /** How long to wait for a table lock; default 5 s. */
  lockTimeoutMs?: number;
}

export interface PgDisableResult {
  statements: string[];
  notices: string[];
}

/**
 * Removes the capture triggers and their functions; with dropTables also
 * audite's tables and view, then the schema if nothing else is left in it (an
 * object someone else put there keeps it, with a notice). One transaction,
 * under the same install lock as enable.
 */
export async function disablePostgres(client: PgClient, options: PgDisableOptions = {}): Promise<PgDisableResult> {
  const schema = options.schema ?? DEFAULT_PG_SCHEMA;
  assertFeedSchema(schema);
  const plan = async (): Promise<{ statements: string[]; dropSchema: string | undefined }> => {
    const installed = await readInstalled(client, schema);
    const statements = installed.triggers.map((t) => `DROP TRIGGER IF EXISTS ${q(t.name)} ON ${qualified(t.schema, t.table)}`);
    for (const fn of installed.functions.values()) {
      if (fn.name.startsWith(CAPTURE_FUNCTION_PREFIX) || fn.name === DRIFT_SUBJECT_FUNCTION || fn.name === DRIFT_COLUMNS_FUNCTION)
        statements.push(`DROP FUNCTION IF EXISTS ${qualified(schema, fn.name)}(${fn.args})`);
    }
    if (!options.dropTables || !installed.schemaExists) return { statements, dropSchema: undefined };
    if (installed.relations.has(PG_FEED_VIEW)) statements.push(`DROP VIEW IF EXISTS ${qualified(schema, PG_FEED_VIEW)}`);
    for (const table of [PG_FEED_TABLE, PG_CURSOR_TABLE, PG_DEAD_LETTER_TABLE, PG_SETTINGS_TABLE]) {
      if (installed.relations.has(table)) statements.push(`DROP TABLE IF EXISTS ${qualified(schema, table)}`);
    }
    return { statements, dropSchema: `DROP SCHEMA IF EXISTS ${q(schema)}` };
  };
  try {
    const first = await plan();
    const listed = (p: typeof first): string[] => (p.dropSchema === undefined ? p.statements : [...p.statements, p.dropSchema]);
    if (options.dryRun || listed(first).length === 0) return { statements: listed(first), notices: [] };
    return await inInstallTransaction(client, schema, options.lockTimeoutMs ?? DEFAULT_PG_LOCK_TIMEOUT_MS, async () => {
      const current = await plan();
      for (const sql of current.statements) await client.query(sql);
      // Roles are cluster-wide and another database's feed may use it: an operator drops it.
      const keptRole = `kept role ${JSON.stringify(captureRoleName(schema))} (roles are cluster-wide); drop it with DROP ROLE once no database's feed uses it`;
      if (current.dropSchema !== undefined) {
        // RESTRICT: the schema goes only if it holds nothing but what audite made.
        await client.query('SAVEPOINT audite_drop_schema');
        try {
          await client.query(current.dropSchema);
          await client.query('RELEASE SAVEPOINT audite_drop_schema');
        } catch (error) {
          if (pgErrorCode(error) !== '2BP01') throw error;
          await client.query('ROLLBACK TO SAVEPOINT audite_drop_schema');
          return { statements: current.statements, notices: [`kept schema ${JSON.stringify(schema)}: it holds objects audite did not create`, keptRole] };
        }
      }
      return { statements: listed(current), notices: options.dropTables ? [keptRole] : [] };
    });
  } catch (error) {
    throw installError(`cannot disable capture in schema ${JSON.stringify(schema)}`, error);
  }
}
