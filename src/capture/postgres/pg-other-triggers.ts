import type { PgClient } from '../../postgres/pg-client.ts';

/**
 * Tables (oids, as text) with triggers other than audite's of `feedSchema`:
 * the app's own (another feed's capture triggers write only their feed). Internal ones (foreign keys) do not count;
 * neither do clones on partitions (their parent is captured row by row anyway).
 */
export async function tablesWithOtherTriggers(client: PgClient, feedSchema: string): Promise<Set<string>> {
  const { rows } = await client.query<{ oid: string }>(
    `SELECT DISTINCT t.tgrelid::text AS oid
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
       JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
      WHERE NOT t.tgisinternal AND n.nspname <> $1
        AND NOT (t.tgname LIKE '!%\\_capture\\_%' AND p.proname LIKE 'capture\\_%')`,
    [feedSchema],
  );
  return new Set(rows.map((r) => r.oid));
}
