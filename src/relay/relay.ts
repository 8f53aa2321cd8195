import type { Config } from '../config/config-schema.ts';
import { AuditeError } from '../errors.ts';
import { createEventBuilder } from '../events/cloudevent-builder.ts';
import { startDaemonOps, type DaemonOps } from '../ops/daemon-ops.ts';
import { createSink } from '../sinks/create-sink.ts';
import type { Sink } from '../sinks/sink.ts';
import type { FeedBackend } from '../source/change-source.ts';
import { databaseLabel, openFeedBackend } from '../source/open-backend.ts';
import { runConsumer, type ConsumerOutcome } from './consumer.ts';
import { combineObservers, type ConsumerObserver } from './consumer-observer.ts';
import type { Logger } from './logger.ts';

export interface RelayDeps {
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
  observer?: ConsumerObserver;
  /** Where stdout sinks write (the CLI passes process.stdout). */
  stdout: NodeJS.WritableStream;
  /** Opens the database side; defaults to openFeedBackend (SQLite or PostgreSQL, by `database`). The ops side runs when the backend offers an inspector. */
  openBackend?: (config: Config) => FeedBackend | Promise<FeedBackend>;
}

export interface ConsumerInfo {
  name: string;
  sink: Sink;
  outcome: ConsumerOutcome | undefined;
}

export interface Relay {
  readonly consumers: readonly ConsumerInfo[];
  readonly backend: FeedBackend;
  /** The ops endpoint, retention, warnings and (SQLite) schema watch; undefined for a backend without an inspector. */
  readonly ops: DaemonOps | undefined;
  /** Resolves when every consumer has ended (stopped or halted). */
  readonly done: Promise<ConsumerOutcome[]>;
  /** Graceful stop: in-flight batches get `shutdown.graceMs` to be acknowledged, then are abandoned. Idempotent. */
  stop(): Promise<void>;
}

/**
 * A consumer's name is its cursor row, so it must not depend on where the sink
 * sits in the list: reordering sinks would hand one sink another's position.
 * An unnamed sink is called after its type, which only works while it is the
 * only one of that type.
 */
export function consumerNames(config: Config): string[] {
  const names = config.sinks.map((sink, i) => {
    if (sink.name !== undefined) return sink.name;
    if (config.sinks.filter((s) => s.type === sink.type).length > 1) {
      throw new AuditeError(
        'CONFIG_INVALID',
        `invalid configuration: sinks.${i}.name is required when several ${sink.type} sinks are configured (it names the sink's cursor)`,
      );
    }
    return sink.type;
  });
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined)
    throw new AuditeError('CONFIG_INVALID', `invalid configuration: two sinks share the consumer name ${JSON.stringify(duplicate)}; give each a distinct name`);
  return names;
}

/** Starts one consumer per configured sink over one database. */
export async function startRelay(config: Config, deps: RelayDeps): Promise<Relay> {
  const names = consumerNames(config);
  const backend = await (deps.openBackend ?? openFeedBackend)(config);
  const sinks: Sink[] = [];
  // Bound once the ops side exists; sinks report retries through it.
  let observer: ConsumerObserver = deps.observer ?? {};
  let ops: DaemonOps | undefined;
  const consumers: ConsumerInfo[] = [];
  try {
    for (const [i, sinkConfig] of config.sinks.entries()) {
      const name = names[i] as string;
      sinks.push(
        await createSink(sinkConfig, {
          logger: deps.logger.child({ consumer: name }),
          env: deps.env,
          stdout: deps.stdout,
          onRetry: () => observer.retried?.(name),
        }),
      );
    }
    consumers.push(...sinks.map((sink, i) => ({ name: names[i] as string, sink, outcome: undefined })));
    if (backend.openInspector !== undefined) {
      ops = await startDaemonOps({ config, logger: deps.logger, inspector: await backend.openInspector(), consumers });
      observer = combineObservers(ops.observer, deps.observer);
    }
  } catch (error) {
    await Promise.allSettled(sinks.map((s) => s.close()));
    await backend.close();
    throw error;
  }
  const stopController = new AbortController();
  const abortController = new AbortController();
  const buildEvent = createEventBuilder({ sourceTemplate: config.cloudevents.source });
  // Per consumer, so a stop can abandon at once the batches whose sink is failing anyway.
  const abandon = consumers.map(() => new AbortController());
  deps.logger.info({ database: databaseLabel(config.database), consumers: names }, 'relay started');

  const done = Promise.all(
    consumers.map(async (info, i) => {
      const sinkConfig = config.sinks[i];
      const outcome = await runConsumer(
        {
          name: info.name,
          source: backend.openSource(),
          sink: info.sink,
          checkpoints: backend.checkpoints,
          deadLetters: backend.deadLetters,
          buildEvent,
          batchSize: sinkConfig?.batchSize ?? config.source.batchSize,
          startFrom: config.source.startFrom,
          policy: sinkConfig?.onPermanentFailure ?? 'halt',
          logger: deps.logger.child({ consumer: info.name }),
          observer,
        },
        { stop: stopController.signal, abort: AbortSignal.any([abortController.signal, (abandon[i] as AbortController).signal]) },
      );
      info.outcome = outcome;
      return outcome;
    }),
  );

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      ops?.markStopping();
      stopController.abort(new Error('relay stopping'));
      // A sink in retry backoff has nothing in flight worth waiting for: its batch is redelivered next start.
      consumers.forEach((c, i) => {
        if (!c.sink.health().ready) abandon[i]?.abort(new Error('relay stopping; sink is failing, batch abandoned'));
      });
      const grace = setTimeout(() => abortController.abort(new Error('shutdown grace period over; abandoning in-flight batches')), config.shutdown.graceMs);
      try {
        await done.catch(() => {});
      } finally {
        clearTimeout(grace);
        await ops?.close().catch((error: unknown) => deps.logger.warn({ err: error }, 'closing the ops side failed'));
        await Promise.allSettled(sinks.map((s) => s.close()));
        await backend.close();
        deps.logger.info({}, 'relay stopped');
      }
    })();
    return stopping;
  };
  return { consumers, backend, ops, done, stop };
}
