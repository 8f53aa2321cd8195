import type { PgClient } from '../../postgres/pg-client.ts';
import { sourceName } from './pg-tables.ts';

/** A trigger of ours: its function lives in the feed schema. Clones on partitions are left out (they follow the parent's). */
export interface InstalledTrigger {
  /** The table's oid, as text. */
  oid: string;
  schema: string;
  table: string;
  source: string;
  name: string;
  tgtype: number;
  oldTable: string | null;
  newTable: string | null;
  /** pg_trigger.tgenabled: 'O' fires normally, 'D' was disabled by hand. */
  enabled: string;
  functionName: string;
}

export interface InstalledFunction {
  name: string;
  /** For DROP FUNCTION. */
  args: string;
  body: string;
  /** The owning role's name. */
  owner: string;
  /** pg_proc.proconfig: the function's SET clauses as `name=value`. */
  config: string[];
}

export interface Installed {
  schemaExists: boolean;
  /** Tables, views, indexes and sequences in the feed schema, by name. */
  relations: Set<string>;
  functions: Map<string, InstalledFunction>;
  triggers: InstalledTrigger[];
}

/** What audite has in the database now, in `schema` and on the captured tables. Reads only. */
export async function readInstalled(client: PgClient, schema: string): Promise<Installed> {
  const { rows: ns } = await client.query<{ oid: string }>('SELECT oid::text AS oid FROM pg_catalog.pg_namespace WHERE nspname = $1', [schema]);
  const nsOid = ns[0]?.oid;
  if (nsOid === undefined) return { schemaExists: false, relations: new Set(), functions: new Map(), triggers: [] };
  const { rows: rels } = await client.query<{ name: string }>('SELECT relname::text AS name FROM pg_catalog.pg_class WHERE relnamespace = $1::oid', [nsOid]);
  const { rows: fns } = await client.query<{ name: string; args: string; body: string; owner: string; config: string[] }>(
    `SELECT proname::text AS name, pg_catalog.pg_get_function_identity_arguments(oid) AS args, prosrc AS body,
            pg_catalog.pg_get_userbyid(proowner)::text AS owner, coalesce(proconfig, '{}')::text[] AS config
       FROM pg_catalog.pg_proc WHERE pronamespace = $1::oid`,
    [nsOid],
  );
  const { rows: trs } = await client.query<{
    oid: string;
    schema: string;
    table: string;
    name: string;
    tgtype: number;
    old_table: string | null;
    new_table: string | null;
    enabled: string;
    function_name: string;
  }>(
    `SELECT t.tgrelid::text AS oid, n.nspname::text AS schema, c.relname::text AS table, t.tgname::text AS name, t.tgtype::int AS tgtype,
            t.tgoldtable::text AS old_table, t.tgnewtable::text AS new_table, t.tgenabled::text AS enabled, p.proname::text AS function_name
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid
       JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE p.pronamespace = $1::oid AND NOT t.tgisinternal AND t.tgparentid = 0
      ORDER BY n.nspname, c.relname, t.tgname`,
    [nsOid],
  );
  return {
    schemaExists: true,
    relations: new Set(rels.map((r) => r.name)),
    functions: new Map(fns.map((f) => [f.name, f])),
    triggers: trs.map((t) => ({
      oid: t.oid,
      schema: t.schema,
      table: t.table,
      source: sourceName(t.schema, t.table),
      name: t.name,
      tgtype: t.tgtype,
      oldTable: t.old_table,
      newTable: t.new_table,
      enabled: t.enabled,
      functionName: t.function_name,
    })),
  };
}

/** Sources of the tables that have at least one capture trigger, sorted. */
export function trackedSources(installed: Installed): string[] {
  return [...new Set(installed.triggers.map((t) => t.source))].sort();
}
