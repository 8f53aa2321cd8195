import { AuditeError } from '../../errors.ts';
import type { PgClient } from '../../postgres/pg-client.ts';
import { qualified, quoteIdent as q } from '../../postgres/quote.ts';
import { samePgSpec, storePgSpecSql, type PgCaptureSpec } from './pg-capture-spec.ts';
import { driftFunctions } from './pg-drift-functions.ts';
import { pgFeedObjects, pgHistoryIndexes } from './pg-feed-schema.ts';
import { readInstalled, type InstalledTrigger } from './pg-installed.ts';
import { planCaptureRole } from './pg-capture-role.ts';
import { CAPTURE_FUNCTION_PREFIX } from './pg-names.ts';
import { selectPgTables } from './pg-select-tables.ts';
import { tablesWithOtherTriggers } from './pg-other-triggers.ts';
import { buildPgCapture, CAPTURE_FUNCTION_CONFIG, type PgRowLevel, type PgTableCapture, type PgTriggerDef } from './pg-trigger-builder.ts';
import { readPgTables } from './pg-tables.ts';

export interface PgEnablePlan {
  /** SQL to run, in order, inside one transaction. Empty when all is up to date. */
  statements: string[];
  /** Tables (sources) whose changes are captured once the plan is applied. */
  tables: string[];
  /** Tables whose function or triggers are missing or no longer match the table and the spec. */
  stale: string[];
  notices: string[];
  /** The spec as stored: table and column names as the catalog spells them. */
  spec: PgCaptureSpec;
}

export interface PgPlanOptions {
  /** Row-level triggers on ordinary tables too (for the benchmark's comparison). */
  rowLevel?: PgRowLevel;
}

/** Compares what the database has with what `spec` asks for; reads only. */
export async function planPgEnable(
  client: PgClient,
  schema: string,
  spec: PgCaptureSpec,
  stored: PgCaptureSpec | undefined,
  options: PgPlanOptions = {},
): Promise<PgEnablePlan> {
  const installed = await readInstalled(client, schema);
  const { chosen, exclusions, spec: normalized } = selectPgTables(await readPgTables(client, schema), spec);
  const setup: string[] = [];
  for (const object of pgFeedObjects(schema)) {
    if (object.kind === 'schema' ? !installed.schemaExists : !installed.relations.has(object.name)) setup.push(object.sql);
  }
  for (const fn of driftFunctions(schema)) if (installed.functions.get(fn.name)?.body !== fn.body) setup.push(...fn.statements);
  if (normalized.historyIndexes) for (const index of pgHistoryIndexes(schema)) if (!installed.relations.has(index.name)) setup.push(index.sql);
  if (!samePgSpec(stored, normalized)) setup.push(storePgSpecSql(schema, normalized));
  const role = await planCaptureRole(client, schema, installed);
  setup.push(...role.statements);
  // An app trigger that writes its own table again must see its writes recorded after the row that caused them: row-level capture, fired first.
  const otherTriggers = await tablesWithOtherTriggers(client, schema);

  const captures: PgTableCapture[] = chosen.map((table) =>
    buildPgCapture(schema, table, {
      excludeColumns: exclusions.get(table.source) ?? [],
      skipNoopUpdates: normalized.skipNoopUpdates,
      changedOnly: normalized.changedOnly,
      rowLevel: otherTriggers.has(table.oid) ? 'all' : (options.rowLevel ?? 'none'),
    }),
  );
  const wanted = new Set(captures.flatMap((c) => c.triggers.map((t) => `${c.table.oid}\u0000${t.name}`)));
  const dropTriggers = installed.triggers
    .filter((t) => !wanted.has(`${t.oid}\u0000${t.name}`))
    .map((t) => `DROP TRIGGER IF EXISTS ${q(t.name)} ON ${qualified(t.schema, t.table)}`);

  const build: string[] = [];
  const stale = new Set<string>();
  for (const capture of captures) {
    const statements: string[] = [];
    const fn = installed.functions.get(capture.functionName);
    const fnName = `${qualified(schema, capture.functionName)}()`;
    if (fn?.body !== capture.body || fn.config.join('\u0000') !== CAPTURE_FUNCTION_CONFIG.join('\u0000')) statements.push(capture.functionSql);
    if (fn?.owner !== role.name) statements.push(`ALTER FUNCTION ${fnName} OWNER TO ${q(role.name)}`, `REVOKE ALL ON FUNCTION ${fnName} FROM PUBLIC`);
    for (const trigger of capture.triggers) {
      const existing = installed.triggers.find((t) => t.oid === capture.table.oid && t.name === trigger.name);
      if (existing !== undefined && matches(existing, trigger, capture.functionName)) continue;
      if (existing !== undefined) statements.push(`DROP TRIGGER IF EXISTS ${q(trigger.name)} ON ${qualified(capture.table.schema, capture.table.name)}`);
      statements.push(trigger.sql);
    }
    if (statements.length > 0) stale.add(capture.table.source);
    build.push(...statements);
  }
  // Functions of tables no longer tracked (or renamed, or dropped): their triggers are gone by now.
  const desiredFunctions = new Set(captures.map((c) => c.functionName));
  const dropFunctions = [...installed.functions.values()]
    .filter((f) => f.name.startsWith(CAPTURE_FUNCTION_PREFIX) && !desiredFunctions.has(f.name))
    .map((f) => `DROP FUNCTION IF EXISTS ${qualified(schema, f.name)}(${f.args})`);

  return {
    statements: [...setup, ...dropTriggers, ...withOwnership(schema, role.name, build), ...dropFunctions],
    tables: chosen.map((t) => t.source),
    stale: [...stale].sort(),
    notices: [],
    spec: normalized,
  };
}

/** A function's new owner needs CREATE on its schema, but only for the hand-over: the capture role keeps none. */
function withOwnership(schema: string, role: string, build: string[]): string[] {
  if (!build.some((sql) => sql.startsWith('ALTER FUNCTION '))) return build;
  return [`GRANT CREATE ON SCHEMA ${q(schema)} TO ${q(role)}`, ...build, `REVOKE CREATE ON SCHEMA ${q(schema)} FROM ${q(role)}`];
}

function matches(existing: InstalledTrigger, wanted: PgTriggerDef, functionName: string): boolean {
  return (
    existing.tgtype === wanted.tgtype &&
    existing.oldTable === wanted.oldTable &&
    existing.newTable === wanted.newTable &&
    existing.functionName === functionName &&
    existing.enabled === 'O'
  );
}

/** The feed schema must be audite's own: never `public` or a system schema. */
export function assertFeedSchema(schema: string): void {
  const lower = schema.toLowerCase();
  if (schema === '' || lower === 'public' || lower === 'information_schema' || lower.startsWith('pg_'))
    throw new AuditeError('INVALID_ARGUMENT', `--schema ${JSON.stringify(schema)} cannot hold audite's feed; choose a schema of its own (default "audite")`);
}
