import { describe, expect, it } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import { freshPgDatabase, pgUrl } from '../support/postgres.ts';

describe('connectPostgres', () => {
  it('returns json and jsonb as text, so integers beyond 2^53 stay exact', async () => {
    const { url } = await freshPgDatabase();
    const client = await connectPostgres(url);
    try {
      const { rows } = await client.query<{ j: string; b: string }>(`SELECT '{"n": 9007199254740993}'::jsonb AS j, 9007199254740993::bigint AS b`);
      expect(rows[0]).toEqual({ j: '{"n": 9007199254740993}', b: '9007199254740993' });
    } finally {
      await client.end();
    }
  });

  it('applies session settings at connect', async () => {
    const { url } = await freshPgDatabase();
    const client = await connectPostgres(url, { settings: { synchronous_commit: 'off', 'audite.probe': 'two words\\ and a backslash' } });
    try {
      const { rows } = await client.query<{ sc: string; app: string }>(
        `SELECT current_setting('synchronous_commit') AS sc, current_setting('audite.probe') AS app`,
      );
      expect(rows[0]).toEqual({ sc: 'off', app: 'two words\\ and a backslash' });
    } finally {
      await client.end();
    }
  });

  it('names a missing database, an unreachable server and an unknown role with their own codes, without the password', async () => {
    const missing = await connectPostgres(pgUrl('audite_no_such_db')).catch((e: unknown) => e);
    expect(isAuditeError(missing, 'DB_NOT_FOUND')).toBe(true);
    const refused = await connectPostgres('postgres://u:hunter2@127.0.0.1:1/x').catch((e: unknown) => e);
    expect(isAuditeError(refused, 'DB_UNAVAILABLE')).toBe(true);
    expect((refused as Error).message).not.toContain('hunter2');
    const role = await connectPostgres(pgUrl('postgres', 'audite_no_such_role')).catch((e: unknown) => e);
    expect(isAuditeError(role, 'DB_PERMISSION')).toBe(true);
  });
});
