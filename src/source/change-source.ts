import type { FeedEvent } from '../events/feed-event.ts';
import type { FeedInspector } from '../ops/feed-inspector.ts';

/**
 * Where committed change events come from: SQLite (sqlite-source.ts) or
 * PostgreSQL (postgres/pg-change-source.ts). Positions are feed ids: a
 * consumer asks for events past the last id its sink acknowledged.
 */
export interface ChangeSource {
  /** Committed events with id > after, in id order (per row, commit order), at most `limit`; never one a later commit could still precede. */
  read(after: number, limit: number): Promise<FeedEvent[]>;
  /** Resolves when new commits may be visible, or as soon as `signal` aborts. */
  waitForChange(signal: AbortSignal): Promise<void>;
  /** The end of the feed: the newest id readable without skipping anything (0 when empty). PostgreSQL's first call waits for commits in flight; `signal` ends the wait. */
  head(signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

/** One row per consumer: the last acknowledged position. */
export interface CheckpointStore {
  /** Registers the consumer if new (at 0, or at the head when starting from the end) and returns its position. */
  load(consumer: string, startFrom: 'beginning' | 'end', signal?: AbortSignal): Promise<ConsumerState>;
  /** Moves the position forward (never backwards) and clears any error. */
  commit(consumer: string, position: number): Promise<void>;
  /** Records a failure; `halted` stops the consumer until an operator acts. */
  markFailed(consumer: string, error: string, halted: boolean): Promise<void>;
  /** Operator command: set the position anywhere, also backwards. */
  reset(consumer: string, position: number): Promise<void>;
  close(): Promise<void>;
}

export interface ConsumerState {
  position: number;
  halted: boolean;
  lastError: string | null;
}

export interface DeadLetter {
  consumer: string;
  eventId: number;
  /** The feed row, as JSON text (data kept verbatim). */
  event: string;
  error: string;
  status: number | null;
  response: string | null;
}

export interface DeadLetterStore {
  add(letter: DeadLetter): Promise<void>;
  list(consumer?: string): Promise<(DeadLetter & { id: number; createdAt: number })[]>;
  remove(id: number): Promise<void>;
}

/** Everything the relay needs from one database. */
export interface FeedBackend {
  /** Each consumer gets its own source, so a slow one never holds back another. */
  openSource(): ChangeSource;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  /** The ops side's view (/readyz, /metrics, retention); a backend without one runs no ops side. */
  openInspector?(): Promise<FeedInspector>;
  close(): Promise<void>;
}
