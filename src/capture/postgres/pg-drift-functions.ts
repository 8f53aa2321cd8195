import { qualified } from '../../postgres/quote.ts';

/**
 * Two helpers the capture functions call only when a table no longer has the
 * columns its triggers were built with (a key or excluded column renamed or
 * dropped by a migration, before `audite enable` ran again). They read the
 * catalog, so the app's writes keep working and stay correct meanwhile: the
 * subject comes from the table's current key, and an excluded column stays
 * excluded under its new name (found by its attnum). `status` reports such a
 * table as stale until `enable` rebuilds its function.
 */
export const DRIFT_SUBJECT_FUNCTION = 'drift_subject';
export const DRIFT_COLUMNS_FUNCTION = 'drift_column_names';

export interface PgFunctionDef {
  name: string;
  /** The body exactly as pg_proc.prosrc stores it, to tell whether the installed one is current. */
  body: string;
  /** CREATE OR REPLACE, then any grants. */
  statements: string[];
}

const subjectBody = `
DECLARE
  audite_keys text[];
BEGIN
  SELECT array_agg(a.attname::text ORDER BY k.ord) INTO audite_keys
    FROM pg_catalog.pg_index i
   CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
   WHERE i.indexrelid = (SELECT x.indexrelid FROM pg_catalog.pg_index x
                          WHERE x.indrelid = audite_rel AND (x.indisprimary OR x.indisreplident)
                          ORDER BY x.indisprimary DESC LIMIT 1)
     AND k.ord <= i.indnkeyatts;
  IF audite_keys IS NULL THEN
    RAISE EXCEPTION 'audite: table % has no primary key or replica identity index any more, so its changes have no subject', audite_rel::regclass
      USING HINT = 'add a primary key, or stop capturing the table (audite enable --exclude-table, or audite disable)';
  END IF;
  RETURN (SELECT string_agg(audite_row ->> u.k, ':' ORDER BY u.o) FROM unnest(audite_keys) WITH ORDINALITY AS u(k, o));
END
`;

const columnsBody = `
SELECT coalesce(array_agg(a.attname::text), '{}'::text[])
  FROM pg_catalog.pg_attribute a
 WHERE a.attrelid = $1 AND a.attnum = ANY ($2) AND NOT a.attisdropped
`;

/** A dollar-quote tag that does not occur in `body`, so no name inside it can end the quoted text. */
export function dollarQuote(body: string): string {
  let tag = '$audite$';
  for (let i = 1; body.includes(tag); i += 1) tag = `$audite${i}$`;
  return `${tag}${body}${tag}`;
}

export function driftFunctions(schema: string): PgFunctionDef[] {
  const subject = qualified(schema, DRIFT_SUBJECT_FUNCTION);
  const columns = qualified(schema, DRIFT_COLUMNS_FUNCTION);
  return [
    {
      name: DRIFT_SUBJECT_FUNCTION,
      body: subjectBody,
      statements: [
        `CREATE OR REPLACE FUNCTION ${subject}(audite_rel oid, audite_row jsonb) RETURNS text LANGUAGE plpgsql STABLE
  SET search_path = pg_catalog, pg_temp AS ${dollarQuote(subjectBody)}`,
        `REVOKE ALL ON FUNCTION ${subject}(oid, jsonb) FROM PUBLIC`,
      ],
    },
    {
      name: DRIFT_COLUMNS_FUNCTION,
      body: columnsBody,
      statements: [
        `CREATE OR REPLACE FUNCTION ${columns}(oid, int2[]) RETURNS text[] LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp AS ${dollarQuote(columnsBody)}`,
        `REVOKE ALL ON FUNCTION ${columns}(oid, int2[]) FROM PUBLIC`,
      ],
    },
  ];
}
