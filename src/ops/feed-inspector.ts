import type { SchemaWatch } from '../capture/schema-watch.ts';
import type { ConsumerReport, FeedReport, ReportOptions } from './consumer-status.ts';
import type { PruneOptions, PruneResult } from './retention.ts';

/** A running transaction that keeps the feed from advancing (PostgreSQL's visibility horizon). */
export interface HeldBack {
  /** How long it has been open (fractional). */
  seconds: number;
  /** One line for operators: who holds it and what to do; never query text. */
  description: string;
}

/**
 * What the daemon's ops side (/readyz, /metrics, retention, warnings) needs
 * from a database, whatever its kind. Each backend provides one; optional
 * members are capabilities a backend may lack.
 */
export interface FeedInspector {
  /** Reads the feed once; throws when it cannot. */
  probe(): Promise<void>;
  feed(): Promise<FeedReport>;
  consumers(headId: number, options?: ReportOptions): Promise<ConsumerReport[]>;
  /** The transaction holding the feed back, if any. */
  heldBack?(): Promise<HeldBack | undefined>;
  /** Deletes acknowledged events older than the window (see retention.ts for the rules). */
  prune?(options: PruneOptions): Promise<PruneResult>;
  /** Notices schema changes that leave capture stale (and rebuilds with autoRefresh). */
  readonly schemaWatch?: SchemaWatch;
  close(): Promise<void>;
}
