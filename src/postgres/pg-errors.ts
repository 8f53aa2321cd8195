import { AuditeError } from '../errors.ts';
import { redactUrl } from './database-url.ts';

/** SQLSTATE (or a Node socket error code) of an error thrown by `pg`. */
export function pgErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN', '57P01', '57P03', '08006', '08001']);

/** True for errors that a retry may cure: the server went away or is starting up. */
export function isPgUnavailable(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && UNREACHABLE.has(code);
}

/**
 * Turns a connection failure into an AuditeError that tells the operator what
 * to do. The URL is shown without its password.
 */
export function connectError(url: string, error: unknown): AuditeError {
  const where = redactUrl(url);
  const code = pgErrorCode(error);
  if (code === '3D000')
    return new AuditeError('DB_NOT_FOUND', `cannot connect to ${where}: the database does not exist; create it or fix the URL`, { cause: error });
  if (code === '28P01' || code === '28000')
    return new AuditeError('DB_PERMISSION', `cannot connect to ${where}: authentication failed or the role does not exist; check the user and password`, {
      cause: error,
    });
  if (code === '42501') return new AuditeError('DB_PERMISSION', `cannot connect to ${where}: permission denied; grant CONNECT to the role`, { cause: error });
  return new AuditeError(
    'DB_UNAVAILABLE',
    `cannot connect to ${where}: the server is unreachable or not accepting connections; check host, port and that PostgreSQL is running`,
    {
      cause: error,
    },
  );
}

/** A statement refused for lack of privilege, with the object PostgreSQL named. */
export function permissionError(action: string, error: unknown): AuditeError {
  const detail = error instanceof Error ? error.message : String(error);
  return new AuditeError('DB_PERMISSION', `${action}: ${detail}; run it as a role that owns the tables (or grant the privilege)`, { cause: error });
}
