import type { PgClient } from '../../postgres/pg-client.ts';
import { mergePgSpec, readPgStoredSpec, type PgCaptureSpec } from './pg-capture-spec.ts';
import { assertFeedSchema, planPgEnable, type PgEnablePlan } from './pg-enable-plan.ts';
import { DEFAULT_PG_SCHEMA } from './pg-feed-schema.ts';
import type { PgRowLevel } from './pg-trigger-builder.ts';
import { DEFAULT_PG_LOCK_TIMEOUT_MS, inInstallTransaction, installError } from './pg-transaction.ts';

export interface PgEnableOptions extends Partial<PgCaptureSpec> {
  /** audite's own schema (default `audite`). */
  schema?: string;
  /** Compute and return the plan without changing anything. */
  dryRun?: boolean;
  /** How long to wait for a table lock (CREATE TRIGGER waits for the app's open transactions on the table); default 5 s. */
  lockTimeoutMs?: number;
  /** table → columns to capture again after an earlier exclusion (excludeColumns only ever adds). */
  includeColumns?: Record<string, string[]>;
  /** Benchmark only: row-level UPDATE triggers ('update') or all row-level ('all'). Not stored: a plain re-run reverts it. */
  rowLevelTriggers?: PgRowLevel;
}

export interface PgEnableResult extends PgEnablePlan {
  schema: string;
  /** True when the database already matched: nothing was executed. */
  upToDate: boolean;
  dryRun: boolean;
}

/**
 * Installs or refreshes capture on PostgreSQL. Idempotent: when everything
 * matches it only reads. Otherwise it runs in one transaction that takes the
 * schema's install lock first and plans again under it, so a concurrent
 * second enable waits, then finds everything installed and changes nothing.
 * A failure rolls back the lot: nothing is ever half-installed.
 */
export async function enablePostgres(client: PgClient, options: PgEnableOptions = {}): Promise<PgEnableResult> {
  const { schema = DEFAULT_PG_SCHEMA, dryRun = false, lockTimeoutMs = DEFAULT_PG_LOCK_TIMEOUT_MS, includeColumns, rowLevelTriggers, ...given } = options;
  assertFeedSchema(schema);
  const plan = async (): Promise<PgEnablePlan> => {
    const stored = await readPgStoredSpec(client, schema);
    return planPgEnable(client, schema, mergePgSpec(stored, given, includeColumns), stored, { rowLevel: rowLevelTriggers ?? 'none' });
  };
  try {
    const first = await plan();
    if (dryRun || first.statements.length === 0) return { ...first, schema, upToDate: first.statements.length === 0, dryRun };
    const applied = await inInstallTransaction(client, schema, lockTimeoutMs, async () => {
      const current = await plan();
      for (const sql of current.statements) await client.query(sql);
      return current;
    });
    return { ...applied, schema, upToDate: applied.statements.length === 0, dryRun };
  } catch (error) {
    throw installError(`cannot enable capture in schema ${JSON.stringify(schema)}`, error);
  }
}
