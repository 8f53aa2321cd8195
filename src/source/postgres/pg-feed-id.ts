import { AuditeError } from '../../errors.ts';

/**
 * A feed id (bigint, which `pg` returns as text) as the JS number the relay
 * uses for positions. Ids beyond 2^53 cannot be represented exactly, so they
 * are refused rather than rounded onto a neighbour's position.
 */
export function feedId(value: string | number | null | undefined): number {
  const id = Number(value);
  if (!Number.isSafeInteger(id)) {
    throw new AuditeError(
      'INTERNAL',
      `feed id ${String(value)} is not an integer up to 2^53 (${Number.MAX_SAFE_INTEGER}); audite positions are JS numbers and cannot represent it exactly, so the relay stops here`,
    );
  }
  return id;
}

/** feedId for nullable aggregates (max, min of an empty feed). */
export function feedIdOrNull(value: string | number | null | undefined): number | null {
  return value === null || value === undefined ? null : feedId(value);
}
