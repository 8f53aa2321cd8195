import { AuditeError } from '../../errors.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { qualified, quoteIdent as q } from '../../postgres/quote.ts';
import { DRIFT_COLUMNS_FUNCTION, DRIFT_SUBJECT_FUNCTION } from './pg-drift-functions.ts';
import { PG_FEED_TABLE } from './pg-feed-schema.ts';
import type { Installed } from './pg-installed.ts';
import { captureRoleName } from './pg-names.ts';

/**
 * The capture functions are SECURITY DEFINER (app roles need no privilege on
 * the feed), so they run as their owner, and to_jsonb() of a row may call the
 * app's own casts to json. Their owner is therefore a NOLOGIN role of their
 * own holding only what capture needs: USAGE on the feed schema, INSERT on the
 * feed, EXECUTE on the drift helpers. Never the (often superuser) role that
 * ran `enable`.
 */
export interface CaptureRolePlan {
  name: string;
  /** Role creation and grants, to run after the feed objects and drift helpers exist. */
  statements: string[];
}

interface RoleRow {
  exists: boolean;
  role_super: boolean;
  me_super: boolean;
  me_createrole: boolean;
  member: boolean;
}

export async function planCaptureRole(client: PgClient, schema: string, installed: Installed): Promise<CaptureRolePlan> {
  const name = captureRoleName(schema);
  const { rows } = await client.query<RoleRow>(
    `SELECT r.oid IS NOT NULL AS exists, coalesce(r.rolsuper, false) AS role_super, me.rolsuper AS me_super, me.rolcreaterole AS me_createrole,
            r.oid IS NOT NULL AND pg_catalog.pg_has_role(current_user, r.oid, 'MEMBER') AS member
       FROM pg_catalog.pg_roles me LEFT JOIN pg_catalog.pg_roles r ON r.rolname = $1
      WHERE me.rolname = current_user`,
    [name],
  );
  const row = rows[0];
  if (row === undefined) throw new AuditeError('INTERNAL', 'cannot read the current role from pg_roles');
  const action = `cannot enable capture in schema ${JSON.stringify(schema)}`;
  if (row.role_super)
    throw new AuditeError(
      'DB_PERMISSION',
      `${action}: role ${JSON.stringify(name)} owns the capture functions but is a superuser; run ALTER ROLE ${q(name)} NOSUPERUSER`,
    );
  const canGrant = row.me_super || row.me_createrole;
  if (!row.exists && !canGrant)
    throw new AuditeError(
      'DB_PERMISSION',
      `${action}: permission denied to create role ${JSON.stringify(name)}, which owns the capture functions; run enable once as a role with CREATEROLE, or CREATE ROLE ${q(name)} NOLOGIN and GRANT it to this role`,
    );
  if (row.exists && !row.member && !canGrant)
    throw new AuditeError(
      'DB_PERMISSION',
      `${action}: permission denied to use role ${JSON.stringify(name)}, which owns the capture functions; GRANT ${q(name)} TO this role`,
    );

  const statements: string[] = [];
  if (!row.exists)
    // Roles are cluster-wide: another database's enable may create it at the same moment.
    statements.push(`DO $audite$BEGIN CREATE ROLE ${q(name)} NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END$audite$`);
  // Handing a function to a role takes membership in it (a superuser needs none).
  if (!row.me_super && !row.member) statements.push(`GRANT ${q(name)} TO CURRENT_USER`);
  if (!row.exists || !(await hasGrants(client, schema, name, installed))) statements.push(...grants(schema, name));
  return { name, statements };
}

function grants(schema: string, role: string): string[] {
  return [
    `GRANT USAGE ON SCHEMA ${q(schema)} TO ${q(role)}`,
    `GRANT INSERT ON ${qualified(schema, PG_FEED_TABLE)} TO ${q(role)}`,
    `GRANT EXECUTE ON FUNCTION ${qualified(schema, DRIFT_SUBJECT_FUNCTION)}(oid, jsonb), ${qualified(schema, DRIFT_COLUMNS_FUNCTION)}(oid, int2[]) TO ${q(role)}`,
  ];
}

async function hasGrants(client: PgClient, schema: string, role: string, installed: Installed): Promise<boolean> {
  if (!installed.relations.has(PG_FEED_TABLE) || !installed.functions.has(DRIFT_SUBJECT_FUNCTION) || !installed.functions.has(DRIFT_COLUMNS_FUNCTION))
    return false;
  const { rows } = await client.query<{ ok: boolean }>(
    `SELECT pg_catalog.has_schema_privilege($1, $2, 'USAGE')
        AND pg_catalog.has_table_privilege($1, $3, 'INSERT')
        AND pg_catalog.has_function_privilege($1, $4, 'EXECUTE')
        AND pg_catalog.has_function_privilege($1, $5, 'EXECUTE') AS ok`,
    [
      role,
      schema,
      qualified(schema, PG_FEED_TABLE),
      `${qualified(schema, DRIFT_SUBJECT_FUNCTION)}(oid, jsonb)`,
      `${qualified(schema, DRIFT_COLUMNS_FUNCTION)}(oid, int2[])`,
    ],
  );
  return rows[0]?.ok === true;
}
