import { AuditeError } from '../../errors.ts';
import { quoteIdent as q } from '../../postgres/quote.ts';
import { pgCaptureSpecSchema, type PgCaptureSpec } from './pg-capture-spec.ts';
import { findPgColumn, findPgTable, type PgColumn, type PgTableInfo } from './pg-tables.ts';

export interface PgSelection {
  chosen: PgTableInfo[];
  /** source → excluded columns, resolved to the catalog's columns. */
  exclusions: Map<string, PgColumn[]>;
  /** The spec with every name as the catalog spells it. */
  spec: PgCaptureSpec;
}

/**
 * The tables `spec` asks for, checked: unknown names, partitions, excluded
 * key columns and tables without a key are refused with what to do next.
 * Default (no table named): every ordinary and partitioned table in `public`.
 */
export function selectPgTables(all: readonly PgTableInfo[], spec: PgCaptureSpec): PgSelection {
  const resolve = (name: string): PgTableInfo => {
    const table = findPgTable(all, name);
    if (table === undefined) throw new AuditeError('UNKNOWN_TABLE', `no table named ${JSON.stringify(name)} in this database; check --table / --exclude-table`);
    return table;
  };
  const named = spec.tables?.map(resolve) ?? null;
  const excluded = spec.excludeTables.map(resolve);
  for (const table of named ?? []) {
    if (table.partitionOf !== undefined)
      throw new AuditeError(
        'UNSUPPORTED_TABLE',
        `${JSON.stringify(table.source)} is a partition of ${JSON.stringify(table.partitionOf)}; capture ${JSON.stringify(table.partitionOf)} instead (its triggers reach every partition)`,
      );
  }
  const candidates = named ?? all.filter((t) => t.schema === 'public' && t.partitionOf === undefined);
  const excludedOids = new Set(excluded.map((t) => t.oid));
  const chosen = unique(candidates.filter((t) => !excludedOids.has(t.oid)));

  const exclusions = new Map<string, PgColumn[]>();
  for (const [name, columns] of Object.entries(spec.excludeColumns)) {
    const table = findPgTable(all, name);
    const undo = (column: string): string => `\`audite enable --include-column ${name}.${column}\``;
    if (table === undefined)
      throw new AuditeError(
        'UNKNOWN_TABLE',
        `no table named ${JSON.stringify(name)} for the excluded columns; if it is gone for good, run ${undo(columns[0] ?? '')}`,
      );
    const list = exclusions.get(table.source) ?? [];
    for (const columnName of columns) {
      const column = findPgColumn(table, columnName);
      if (column === undefined)
        throw new AuditeError(
          'UNKNOWN_COLUMN',
          `table ${JSON.stringify(table.source)} has no column named ${JSON.stringify(columnName)} to exclude; if it was dropped or renamed, run ${undo(columnName)} (and exclude the new name)`,
        );
      if (table.key?.columns.includes(column.name))
        throw new AuditeError(
          'INVALID_ARGUMENT',
          `column ${JSON.stringify(column.name)} is part of the key of ${JSON.stringify(table.source)}; the key is the event's subject and cannot be excluded`,
        );
      if (!list.some((c) => c.attnum === column.attnum)) list.push(column);
    }
    exclusions.set(table.source, list);
  }

  for (const table of chosen) {
    if (table.key === undefined)
      throw new AuditeError(
        'UNSUPPORTED_TABLE',
        `table ${JSON.stringify(table.source)} has no primary key or replica identity index, so its rows have no subject; add a primary key, or run ALTER TABLE ${q(table.schema)}.${q(table.name)} REPLICA IDENTITY USING INDEX <a unique index on NOT NULL columns>, or leave it out with --exclude-table`,
      );
  }

  const normalized = pgCaptureSpecSchema.parse({
    ...spec,
    tables: named === null ? null : unique(named).map((t) => t.source),
    excludeTables: unique(excluded).map((t) => t.source),
    excludeColumns: Object.fromEntries([...exclusions].map(([source, columns]) => [source, columns.map((c) => c.name)])),
  });
  return { chosen, exclusions, spec: normalized };
}

function unique(tables: readonly PgTableInfo[]): PgTableInfo[] {
  const seen = new Set<string>();
  return tables.filter((t) => !seen.has(t.oid) && seen.add(t.oid) !== undefined);
}
