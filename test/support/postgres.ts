import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach } from 'vitest';

/**
 * PostgreSQL for tests: the server on these machines (127.0.0.1:5432, trust
 * auth), or AUDITE_TEST_PG_URL. Each call makes a fresh database, dropped
 * after the test. An unreachable server fails the test; it never skips.
 */
export const PG_ADMIN_URL = process.env.AUDITE_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const created: string[] = [];
const clients: pg.Client[] = [];
const roles: string[] = [];

afterEach(async () => {
  await Promise.allSettled(clients.splice(0).map((c) => c.end()));
  const names = created.splice(0);
  const dropRoles = roles.splice(0);
  if (names.length === 0 && dropRoles.length === 0) return;
  await withAdmin(async (admin) => {
    for (const name of names) await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    // Roles are cluster-wide; their grants went with the databases.
    for (const role of dropRoles) await admin.query(`DROP ROLE IF EXISTS "${role}"`);
  });
});

async function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`PostgreSQL is not reachable at ${PG_ADMIN_URL}: start it (e.g. \`pg_ctlcluster 15 main start\`) or set AUDITE_TEST_PG_URL`, {
      cause: error,
    });
  }
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** URL of the same server with another database (and optionally another user). */
export function pgUrl(database: string, user?: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  if (user !== undefined) {
    url.username = user;
    url.password = '';
  }
  return url.toString();
}

/** A fresh, empty database for this test; returns its URL. */
export async function freshPgDatabase(): Promise<{ url: string; name: string }> {
  const name = `audite_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin.query(`CREATE DATABASE "${name}"`));
  created.push(name);
  return { url: pgUrl(name), name };
}

/** A plain `pg` client (the app's side), closed after the test. */
export async function pgApp(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  clients.push(client);
  return client;
}

/** A role with no privileges beyond CONNECT, for permission tests; dropped with the database's objects. */
export async function unprivilegedRole(database: string): Promise<string> {
  const role = `audite_r_${randomBytes(4).toString('hex')}`;
  await withAdmin(async (admin) => {
    await admin.query(`CREATE ROLE "${role}" LOGIN`);
    await admin.query(`GRANT CONNECT ON DATABASE "${database}" TO "${role}"`);
  });
  roles.push(role);
  return role;
}
