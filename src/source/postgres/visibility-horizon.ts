import { setTimeout as sleep } from 'node:timers/promises';
import type { PgClient } from '../../postgres/pg-client.ts';
import { feedId } from './pg-feed-id.ts';

type Queryable = Pick<PgClient, 'query'>;

interface Pair {
  /** The sequence's last value, read first. */
  last: number;
  /** The next xid as read after it: every transaction that drew an id <= last has an xid below this. */
  next: bigint;
}

/** xmin, xmax and how far the next xid is past xmax, from the statement's snapshot `s`. */
const SNAPSHOT_COLUMNS = 'pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax, age(pg_snapshot_xmax(s)::xid) AS ahead';

/** The next xid to be assigned, as seen by a session that holds none: age() counts from it. */
function nextXid(row: { xmax: string; ahead: number }): bigint {
  return BigInt(row.xmax) + BigInt(row.ahead);
}

/** Pending pairs kept at most; beyond it every other one is dropped, which only delays the bound. */
const MAX_PENDING = 256;

/**
 * Which feed ids are final: the reader's answer to the data loss of polling
 * `id > last` (kafka-connect-jdbc #27).
 *
 * Feed ids come from an identity sequence with CACHE 1, drawn by the capture
 * trigger inside the writing transaction. The trigger fires after the app's
 * row was written, so the transaction already holds an xid when it draws.
 * Ids are taken at insert time but become visible at commit, so a smaller id
 * can appear after a larger one has been read. (Id order is still per-row
 * commit order: a second writer of a row waits for the first to commit before
 * its trigger draws.)
 *
 * Each poll runs two statements, in this order and never in one explicit
 * transaction (in READ COMMITTED each takes its own snapshot):
 *   1. L = the sequence's last_value: every id <= L has been drawn, by
 *      transactions that already held their xids;
 *   2. from a fresh snapshot, xmin (every xid below it has ended) and N, the
 *      next xid to be assigned: every transaction that drew an id <= L got its
 *      xid before statement 2 began, so that xid is < N.
 * N is not the snapshot's xmax: xmax is the latest *completed* xid + 1, and a
 * transaction that got its xid after the last completion is >= xmax yet
 * running (the snapshot treats it as future and leaves it out of xmin too).
 * N = xmax + age(xmax), since age() measures from the next xid in a session
 * that holds none. The pair (L, N) becomes safe once a later snapshot's
 * xmin >= N: every transaction that could still add an id <= L has then
 * ended (committed, so our next statement sees it, or rolled back, leaving a
 * gap). The bound is the largest safe L; rows with id <= bound never change,
 * so reading `id > position AND id <= bound` in id order loses nothing. When
 * no transaction runs, xmin = N and the current L is safe at once. A
 * long-running writer stops the bound: the feed waits, it never skips.
 *
 * The pairs live only in memory. After a restart they are rebuilt from the
 * next poll, which can only make the bound lag, never run ahead. xids are
 * compared as BigInt (xid8 is 64-bit).
 */
export class VisibilityHorizon {
  private readonly client: Queryable;
  private readonly sequence: string;
  private readonly pending: Pair[] = [];
  private safe = 0;

  constructor(client: Queryable, sequence: string) {
    this.client = client;
    this.sequence = sequence;
  }

  /** Polls once; returns the largest id up to which the feed is final. */
  async refresh(): Promise<number> {
    const last = await this.readSequence();
    // Nothing drawn past the bound and nothing waiting: no snapshot can move it.
    if (last <= this.safe && this.pending.length === 0) return this.safe;
    const { rows } = await this.client.query<{ xmin: string; xmax: string; ahead: number }>(`SELECT ${SNAPSHOT_COLUMNS} FROM pg_current_snapshot() AS s`);
    const row = rows[0] as { xmin: string; xmax: string; ahead: number };
    const xmin = BigInt(row.xmin);
    const next = nextXid(row);
    if (last > this.safe) this.add({ last, next });
    while (this.pending.length > 0 && (this.pending[0] as Pair).next <= xmin) {
      this.safe = Math.max(this.safe, (this.pending.shift() as Pair).last);
    }
    return this.safe;
  }

  /**
   * The end of the feed as of now: the position after which every event
   * committed from now on lies, and none committed before. When a transaction
   * is in flight, its ids may sit below ids already committed; so this waits
   * until every id drawn by now is final (usually milliseconds), then starts
   * just below the first of them that was not yet visible now (the feed's
   * txid column against the snapshot taken now). That search walks the feed
   * once, and only when something was in flight.
   */
  async end(feed: string, pollIntervalMs: number, signal?: AbortSignal): Promise<number> {
    const last = await this.readSequence();
    const { rows } = await this.client.query<{ snapshot: string; xmin: string; xmax: string; ahead: number }>(
      `SELECT s::text AS snapshot, ${SNAPSHOT_COLUMNS} FROM pg_current_snapshot() AS s`,
    );
    const now = rows[0] as { snapshot: string; xmin: string; xmax: string; ahead: number };
    if (BigInt(now.xmin) >= nextXid(now)) {
      this.safe = Math.max(this.safe, last);
      return last;
    }
    while ((await this.refresh()) < last) {
      signal?.throwIfAborted();
      await sleep(pollIntervalMs, undefined, { signal });
    }
    const { rows: late } = await this.client.query<{ first: string | null }>(
      `SELECT min(id) AS first FROM ${feed} WHERE id <= $1 AND NOT pg_visible_in_snapshot(txid, $2::pg_snapshot)`,
      [last, now.snapshot],
    );
    const first = late[0]?.first;
    return first === null || first === undefined ? last : feedId(first) - 1;
  }

  private add(pair: Pair): void {
    const newest = this.pending.at(-1);
    // The same L with a later N is never better; the same N with a larger L always is.
    if (newest !== undefined && newest.last >= pair.last) return;
    if (newest !== undefined && newest.next === pair.next) {
      newest.last = pair.last;
      return;
    }
    this.pending.push(pair);
    if (this.pending.length > MAX_PENDING) {
      // Thin out, newest kept: a dropped pair's ids are covered by a later pair, a little later.
      const kept = this.pending.filter((_, i) => i % 2 === 1 || i === this.pending.length - 1);
      this.pending.splice(0, this.pending.length, ...kept);
    }
  }

  private async readSequence(): Promise<number> {
    const { rows } = await this.client.query<{ last_value: string; is_called: boolean }>(`SELECT last_value, is_called FROM ${this.sequence}`);
    const row = rows[0];
    if (row === undefined || !row.is_called) return 0;
    return feedId(row.last_value);
  }
}
