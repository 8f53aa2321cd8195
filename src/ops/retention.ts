import { setTimeout as sleep } from 'node:timers/promises';
import { CURSOR_TABLE, FEED_TABLE } from '../capture/feed-schema.ts';
import { AuditeError, isBusy } from '../errors.ts';
import { lockedError } from '../sqlite/open-database.ts';
import { quoteIdent as q } from '../sqlite/quote.ts';
import type { SqliteDatabase } from '../sqlite/sqlite-database.ts';
import { beginImmediate, tableColumns, tableExists } from '../sqlite/schema-queries.ts';

/**
 * Retention: deletes the oldest events once every consumer in audite_cursor
 * has acknowledged them and they are older than the window.
 *
 * - Small batches, each its own IMMEDIATE transaction, with a pause between
 *   them: the app's writers wait at most one batch (a few ms), never the
 *   whole prune.
 * - The newest event is never deleted (the feed's guard trigger enforces it
 *   too), so max(id) + 1, the next id SQLite hands out, stays above every
 *   checkpoint: ids are never reused.
 * - Only the oldest, contiguous run of old events goes; the bound (the lowest
 *   checkpoint) is read again inside every batch's transaction, so a cursor
 *   moved backwards meanwhile (`audite cursor reset`) is honoured.
 * - No consumers registered at all: the age rule alone applies.
 */

export interface PruneOptions {
  /** Keep events younger than this many seconds. */
  keepSeconds: number;
  /** Events per delete transaction. */
  batchSize?: number;
  /** Pause between two delete transactions, in ms. */
  pauseMs?: number;
  /** Count what would go, delete nothing. */
  dryRun?: boolean;
  /** Stops between batches. */
  signal?: AbortSignal;
  /** Unix seconds; tests pass a fixed clock. */
  now?: () => number;
}

export interface PruneResult {
  /** Events deleted (or that would be, on a dry run). */
  pruned: number;
  /** The highest id deleted, null when none. */
  upTo: number | null;
  batches: number;
  dryRun: boolean;
  /** Consumers whose unacknowledged events are already older than the window. */
  blockers: RetentionBlocker[];
}

export interface RetentionBlocker {
  consumer: string;
  position: number;
  halted: boolean;
  /** Unix seconds of its oldest unacknowledged event. */
  oldestPendingTime: number;
}

const DEFAULT_BATCH = 1000;
const DEFAULT_PAUSE_MS = 10;
// Below any id: hand-inserted rows may have ids <= 0.
const FIRST = Number.MIN_SAFE_INTEGER;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export async function prune(db: SqliteDatabase, options: PruneOptions): Promise<PruneResult> {
  const dryRun = options.dryRun ?? false;
  const pauseMs = options.pauseMs ?? DEFAULT_PAUSE_MS;
  const batches = createBatches(db, options.batchSize ?? DEFAULT_BATCH, (options.now ?? nowSeconds)() - options.keepSeconds);
  const result: PruneResult = { pruned: 0, upTo: null, batches: 0, dryRun, blockers: [] };
  while (!options.signal?.aborted) {
    const step = dryRun ? batches.count(result.upTo ?? FIRST) : batches.remove();
    if (step.count === 0) break;
    result.pruned += step.count;
    result.upTo = step.last;
    result.batches += 1;
    if (!step.more) break;
    if (!dryRun && pauseMs > 0) await sleep(pauseMs, undefined, { signal: options.signal }).catch(() => {});
  }
  result.blockers = retentionBlockers(db, options.keepSeconds, options.now);
  return result;
}

/** Consumers holding back events older than the window: halted, far behind, or no longer run by anyone. */
export function retentionBlockers(db: SqliteDatabase, keepSeconds: number, now: () => number = nowSeconds): RetentionBlocker[] {
  const columns = tableColumns(db, CURSOR_TABLE);
  if (columns.size === 0) return [];
  const cutoff = now() - keepSeconds;
  // Cursor tables made by `enable` alone have no halted column until the relay first runs.
  const rows = db
    .prepare(
      `SELECT c.consumer, c.position, ${columns.has('halted') ? 'c.halted' : '0'} AS halted,
              (SELECT f.time FROM ${q(FEED_TABLE)} AS f WHERE f.id > c.position ORDER BY f.id LIMIT 1) AS pending
       FROM ${q(CURSOR_TABLE)} AS c ORDER BY c.position, c.consumer`,
    )
    .all() as { consumer: string; position: number; halted: number; pending: number | null }[];
  return rows
    .filter((r) => r.pending !== null && r.pending < cutoff)
    .map((r) => ({ consumer: r.consumer, position: r.position, halted: r.halted === 1, oldestPendingTime: r.pending as number }));
}

interface Step {
  count: number;
  last: number;
  /** Whether more old events may follow this batch. */
  more: boolean;
}

function createBatches(db: SqliteDatabase, batchSize: number, cutoff: number): { count(after: number): Step; remove(): Step } {
  const feed = q(FEED_TABLE);
  // Never past the lowest checkpoint, never the newest event.
  const lowest = hasCursorTable(db) ? `(SELECT min(position) FROM ${q(CURSOR_TABLE)})` : 'NULL';
  const boundStatement = db.prepare(`SELECT min(coalesce(${lowest}, max(id)), max(id) - 1) FROM ${feed}`).pluck();
  const windowStatement = db.prepare(`SELECT id, time < ? AS old FROM ${feed} WHERE id > ? AND id <= ? ORDER BY id LIMIT ?`);
  const removeStatement = db.prepare(`DELETE FROM ${feed} WHERE id <= ?`);

  /** The oldest events past `after`, in id order, as long as they are old: a newer one ends the run. */
  const oldPrefix = (after: number): Step => {
    const bound = boundStatement.get() as number | null;
    if (bound === null || bound <= after) return { count: 0, last: after, more: false };
    const rows = windowStatement.all(cutoff, after, bound, batchSize) as { id: number; old: number }[];
    let count = 0;
    while (count < rows.length && rows[count]?.old === 1) count += 1;
    const last = count === 0 ? after : (rows[count - 1] as { id: number }).id;
    return { count, last, more: count === batchSize };
  };

  const remove = (): Step => {
    beginImmediate(db);
    try {
      const step = oldPrefix(FIRST);
      if (step.count > 0) {
        const deleted = removeStatement.run(step.last).changes;
        if (deleted !== step.count) throw new AuditeError('INTERNAL', `pruning expected to delete ${step.count} events up to id ${step.last}, not ${deleted}`);
      }
      db.exec('COMMIT');
      return step;
    } catch (cause) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if (isBusy(cause)) throw lockedError(db.name, cause);
      throw cause;
    }
  };
  return { count: oldPrefix, remove };
}

function hasCursorTable(db: SqliteDatabase): boolean {
  return tableExists(db, CURSOR_TABLE);
}
