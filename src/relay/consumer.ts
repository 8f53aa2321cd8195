import { setTimeout as sleep } from 'node:timers/promises';
import { isAuditeError, isBusy } from '../errors.ts';
import { PoisonEventError, type EventBuilder } from '../events/cloudevent-builder.ts';
import type { FeedEvent } from '../events/feed-event.ts';
import type { OutboundEvent } from '../events/outbound-event.ts';
import { PermanentDeliveryError } from '../sinks/permanent-delivery-error.ts';
import type { Sink } from '../sinks/sink.ts';
import type { ChangeSource, CheckpointStore, ConsumerState, DeadLetterStore } from '../source/change-source.ts';
import type { ConsumerObserver } from './consumer-observer.ts';
import type { Logger } from './logger.ts';

export type PermanentFailurePolicy = 'halt' | 'dead-letter' | 'skip';

export interface ConsumerOptions {
  name: string;
  source: ChangeSource;
  sink: Sink;
  checkpoints: CheckpointStore;
  deadLetters: DeadLetterStore;
  buildEvent: EventBuilder;
  batchSize: number;
  startFrom: 'beginning' | 'end';
  policy: PermanentFailurePolicy;
  logger: Logger;
  observer?: ConsumerObserver;
}

export interface ConsumerSignals {
  /** Stop reading new batches; the in-flight one may finish. */
  stop: AbortSignal;
  /** Abandon the in-flight batch now (it is redelivered on the next start). */
  abort: AbortSignal;
}

export type ConsumerOutcome = 'stopped' | 'halted';

class Halted extends Error {}

/**
 * One consumer: read past the checkpoint, publish, wait for the sink's
 * acknowledgement, move the checkpoint, repeat. A plain loop; the stop signal
 * is checked only after a batch was acknowledged and checkpointed.
 */
export async function runConsumer(options: ConsumerOptions, signals: ConsumerSignals): Promise<ConsumerOutcome> {
  const { name, source, logger } = options;
  const state = await loadState(options, signals.stop);
  if (state === undefined) return 'stopped';
  if (state.halted) {
    logger.error(
      { lastError: state.lastError },
      'consumer is halted; fix the cause, then stop the daemon and run `audite cursor reset` (a reset takes effect when a consumer starts)',
    );
    options.observer?.halted?.(name);
    return 'halted';
  }
  let position = state.position;
  let failures = 0;
  logger.info({ position }, 'consumer started');
  // The next batch, read while the current one travels to the sink; used only when
  // the current one was delivered in full, so nothing is skipped or read twice.
  let ahead: Promise<FeedEvent[]> | undefined;
  while (!signals.stop.aborted) {
    try {
      const rows = ahead === undefined ? await source.read(position, options.batchSize) : await ahead;
      ahead = undefined;
      if (rows.length === 0) {
        await source.waitForChange(signals.stop);
        continue;
      }
      const last = (rows[rows.length - 1] as FeedEvent).id;
      // Only behind a full batch (a backlog): at the head there is nothing to overlap. Started on
      // the next turn of the event loop, once the publish is under way: a synchronous source
      // (SQLite) would otherwise read before the send instead of during it.
      const next = rows.length >= options.batchSize ? readAfterTurn(source, last, options.batchSize) : undefined;
      const started = performance.now();
      position = await deliver(options, rows, signals.abort, position);
      if (next !== undefined && position === last) ahead = next;
      const durationMs = performance.now() - started;
      options.observer?.batchDelivered?.(name, rows.length, durationMs);
      logger.debug({ events: rows.length, position, durationMs: Math.round(durationMs) }, 'batch delivered');
      failures = 0;
    } catch (error) {
      if (error instanceof Halted) {
        options.observer?.halted?.(name);
        return 'halted';
      }
      if (signals.abort.aborted) break;
      failures += 1;
      options.observer?.failed?.(name, 'transient');
      const delay = backoffDelay(failures);
      logger.warn({ err: error, retryInMs: delay }, 'consumer loop failed; retrying');
      await sleep(delay, undefined, { signal: signals.stop }).catch(() => {});
    }
  }
  logger.info({ position }, 'consumer stopped');
  return 'stopped';
}

/** A read started after the current macrotask; a rejection surfaces only if the result is used. */
function readAfterTurn(source: ChangeSource, after: number, limit: number): Promise<FeedEvent[]> {
  const read = new Promise<void>((resolve) => setImmediate(resolve)).then(() => source.read(after, limit));
  read.catch(() => {});
  return read;
}

/**
 * Registers the consumer; a database busy for longer than the cursor writer
 * waits (SQLite) or gone for a moment (PostgreSQL) is retried, not fatal.
 */
async function loadState(options: ConsumerOptions, stop: AbortSignal): Promise<ConsumerState | undefined> {
  for (let failures = 1; !stop.aborted; failures++) {
    try {
      return await options.checkpoints.load(options.name, options.startFrom, stop);
    } catch (error) {
      if (stop.aborted) return undefined;
      if (!isBusy(error) && !isAuditeError(error, 'DB_UNAVAILABLE')) throw error;
      const delay = backoffDelay(failures);
      options.logger.warn({ retryInMs: delay }, 'database busy or unreachable; registering the consumer again shortly');
      await sleep(delay, undefined, { signal: stop }).catch(() => {});
    }
  }
  return undefined;
}

/**
 * Loop-level retries (the feed unreadable, a bug in a sink): capped
 * exponential with full jitter on [d/2, d], d = min(30 s, 100 ms × 2^(n-1)):
 * 50–100 ms, 100–200 ms, 200–400 ms, … 15–30 s from the 10th failure on.
 */
export function backoffDelay(failures: number): number {
  const ceiling = Math.min(30_000, 100 * 2 ** Math.min(failures - 1, 20));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

/** Delivers one batch read from the feed; returns the new position. */
async function deliver(options: ConsumerOptions, rows: FeedEvent[], abort: AbortSignal, from: number): Promise<number> {
  let position = from;
  let run: OutboundEvent[] = [];
  const byPosition = new Map<number, FeedEvent>();
  for (const row of rows) {
    byPosition.set(row.id, row);
    try {
      run.push(options.buildEvent(row));
    } catch (error) {
      if (!(error instanceof PoisonEventError)) throw error;
      // Events before the poison go first, so order holds; then the policy decides.
      position = await publish(options, run, byPosition, abort, position);
      run = [];
      options.observer?.failed?.(options.name, 'poison');
      position = await applyPolicy(options, row, error, undefined, position);
    }
  }
  return publish(options, run, byPosition, abort, position);
}

async function publish(options: ConsumerOptions, events: OutboundEvent[], rows: Map<number, FeedEvent>, abort: AbortSignal, from: number): Promise<number> {
  if (events.length === 0) return from;
  try {
    await options.sink.publish(events, abort);
  } catch (error) {
    if (!(error instanceof PermanentDeliveryError) || abort.aborted) throw error;
    options.observer?.failed?.(options.name, 'permanent');
    const index = error.position === undefined ? -1 : events.findIndex((e) => e.position === error.position);
    if (index === -1 && events.length > 1) {
      // The destination refused the batch as a whole: send one by one to find the culprit.
      let position = from;
      for (const event of events) position = await publish(options, [event], rows, abort, position);
      return position;
    }
    const at = Math.max(index, 0);
    // Everything before the refused event was acknowledged.
    let position = at > 0 ? await checkpoint(options, events[at - 1] as OutboundEvent, rows, from) : from;
    const failed = events[at] as OutboundEvent;
    position = await applyPolicy(options, rows.get(failed.position) as FeedEvent, error, error, position);
    return publish(options, events.slice(at + 1), rows, abort, position);
  }
  return checkpoint(options, events[events.length - 1] as OutboundEvent, rows, from);
}

async function checkpoint(options: ConsumerOptions, last: OutboundEvent, rows: Map<number, FeedEvent>, from: number): Promise<number> {
  await commit(options, last.position);
  options.observer?.checkpointed?.(options.name, last.position, rows.get(last.position)?.time ?? 0);
  return Math.max(from, last.position);
}

/** A failed cursor write is not fatal: the next one covers it; a crash meanwhile only redelivers. */
async function commit(options: ConsumerOptions, position: number): Promise<void> {
  try {
    await options.checkpoints.commit(options.name, position);
  } catch (error) {
    if (isAuditeError(error, 'DB_UNAVAILABLE')) {
      options.logger.warn({ consumer: options.name, position }, 'checkpoint write failed: the database connection was lost; will retry with the next batch');
      return;
    }
    if (!isBusy(error)) throw error;
    options.logger.warn({ consumer: options.name, position }, 'checkpoint write timed out on a busy database; will retry with the next batch');
  }
}

async function applyPolicy(
  options: ConsumerOptions,
  row: FeedEvent,
  error: Error,
  delivery: PermanentDeliveryError | undefined,
  from: number,
): Promise<number> {
  const { name, logger, policy } = options;
  const reason = `${error.name}: ${error.message}`;
  logger.error({ eventId: row.id, table: row.table, status: delivery?.status, policy, reason }, 'event refused for good');
  if (policy === 'halt') {
    await options.checkpoints.markFailed(name, `event ${row.id}: ${reason}`, true);
    throw new Halted();
  }
  if (policy === 'dead-letter') {
    await options.deadLetters.add({
      consumer: name,
      eventId: row.id,
      event: JSON.stringify(row),
      error: reason,
      status: delivery?.status ?? null,
      response: delivery?.responseBody ?? null,
    });
    options.observer?.deadLettered?.(name);
  }
  await commit(options, row.id);
  return Math.max(from, row.id);
}
