import { setTimeout as sleep } from 'node:timers/promises';
import type { SchemaWatch } from '../capture/schema-watch.ts';
import type { Config } from '../config/config-schema.ts';
import { isAuditeError } from '../errors.ts';
import type { ConsumerObserver } from '../relay/consumer-observer.ts';
import type { Logger } from '../relay/logger.ts';
import type { Sink } from '../sinks/sink.ts';
import type { FeedInspector, HeldBack } from './feed-inspector.ts';
import type { RelayMetrics } from './metrics.ts';
import { startOpsServer, type OpsServer } from './ops-server.ts';
import { checkReadiness, type Readiness } from './readiness.ts';
import type { RetentionBlocker } from './retention.ts';
import { parseRetentionWindow } from './retention-window.ts';
import { createWarnThrottle } from './warn-throttle.ts';

export interface DaemonOpsOptions {
  config: Config;
  logger: Logger;
  /** The backend's view of the database; closed with the ops side. */
  inspector: FeedInspector;
  /** The relay's consumers; `outcome` is read live. */
  consumers: readonly { name: string; sink: Sink; outcome: string | undefined }[];
}

export interface DaemonOps {
  /** For the consumers: feeds the metrics. */
  readonly observer: ConsumerObserver;
  /** Where /healthz, /readyz and /metrics answer; undefined when ops.port is null. */
  readonly server: { host: string; port: number } | undefined;
  readiness(): Promise<Readiness>;
  /** Readiness turns false at once when a stop begins. */
  markStopping(): void;
  close(): Promise<void>;
}

const UNSERVED_METRICS: RelayMetrics = {
  render: async () => ({ contentType: 'text/plain', text: '' }),
  observer: {},
  update: () => {},
  pruned: () => {},
  schemaRefreshed: () => {},
};

/**
 * Everything the daemon does besides relaying, through the backend's
 * inspector: the ops endpoint, the schema watch (and autoRefresh) where the
 * backend has one, periodic retention, and warnings about halted or blocking
 * consumers and transactions holding the feed back.
 */
export async function startDaemonOps(options: DaemonOpsOptions): Promise<DaemonOps> {
  const { config, logger, inspector } = options;
  const watch = inspector.schemaWatch;
  const heldBackThresholdSeconds = config.source.postgres.heldBackThresholdMs / 1000;
  const closing = new AbortController();
  let stopping = false;
  let blockers: RetentionBlocker[] = [];
  let server: OpsServer | undefined;
  let schemaTimer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();
  try {
    const keepSeconds = parseRetentionWindow(config.retention.keep, 'retention.keep');
    // prom-client costs ~20 MB of memory: loaded only when /metrics is served.
    const metrics = config.ops.port === null ? UNSERVED_METRICS : (await import('./metrics.ts')).createRelayMetrics(options.consumers.map((c) => c.name));
    const warn = createWarnThrottle(logger);
    if (watch !== undefined) checkSchema(watch, metrics, logger, config.schema.autoRefresh);
    const readiness = async (): Promise<Readiness> => {
      let sourceError: unknown;
      let lastErrors = new Map<string, string | null>();
      let heldBack: HeldBack | undefined;
      try {
        await inspector.probe();
        lastErrors = new Map((await inspector.consumers(0)).map((c) => [c.consumer, c.lastError]));
        heldBack = await inspector.heldBack?.();
      } catch (error) {
        sourceError = error;
      }
      return checkReadiness({
        stopping,
        sourceError,
        consumers: options.consumers.map((c) => ({ ...c, lastError: lastErrors.get(c.name) ?? null })),
        stale: watch?.state.stale ?? [],
        autoRefresh: config.schema.autoRefresh,
        schemaProblem: watch?.state.problem ?? null,
        heldBack: heldBack !== undefined && heldBack.seconds >= heldBackThresholdSeconds ? heldBack : undefined,
      });
    };
    if (config.ops.port !== null) {
      server = await startOpsServer({
        host: config.ops.host,
        port: config.ops.port,
        readiness,
        metrics: async () => {
          const feed = await inspector.feed();
          const heldBack = await inspector.heldBack?.();
          metrics.update({
            feed,
            consumers: await inspector.consumers(feed.headId),
            stale: watch?.state.stale ?? [],
            blockers,
            heldBackSeconds: heldBack?.seconds ?? 0,
          });
          return metrics.render();
        },
      });
      logger.info({ host: server.host, port: server.port }, 'ops endpoint serving /healthz, /readyz and /metrics');
    }
    if (watch !== undefined) schemaTimer = setInterval(() => checkSchema(watch, metrics, logger, config.schema.autoRefresh), config.schema.checkIntervalMs);
    const maintenance = { inspector, keepSeconds, config, metrics, logger, warn, heldBackThresholdSeconds };
    loop = (async () => {
      while (!closing.signal.aborted) {
        await sleep(config.retention.intervalMs, undefined, { signal: closing.signal }).catch(() => {});
        if (closing.signal.aborted) break;
        blockers = await maintain(maintenance, closing.signal);
      }
    })();
    return {
      observer: metrics.observer,
      server: server === undefined ? undefined : { host: server.host, port: server.port },
      readiness,
      markStopping: () => {
        stopping = true;
      },
      close: async () => {
        stopping = true;
        closing.abort();
        clearInterval(schemaTimer);
        await loop;
        await server?.close();
        await inspector.close();
      },
    };
  } catch (error) {
    clearInterval(schemaTimer);
    await server?.close();
    await inspector.close();
    throw error;
  }
}

function checkSchema(watch: SchemaWatch, metrics: RelayMetrics, logger: Logger, autoRefresh: boolean): void {
  try {
    const result = watch.check();
    if (!result.changed) return;
    if (result.refreshed.length > 0) {
      metrics.schemaRefreshed(result.refreshed);
      logger.info({ tables: result.refreshed }, 'schema changed: capture triggers rebuilt (autoRefresh)');
    }
    if (result.stale.length > 0 && !autoRefresh) {
      logger.warn({ tables: result.stale }, 'schema changed: capture triggers are stale; run `audite enable` (or set schema.autoRefresh: true)');
    }
    if (result.problem !== null) logger.warn({ problem: result.problem }, 'capture cannot be checked or refreshed');
  } catch (error) {
    logger.warn({ err: error }, 'schema check failed; retrying at the next interval');
  }
}

interface Maintenance {
  inspector: FeedInspector;
  keepSeconds: number | null;
  config: Config;
  metrics: RelayMetrics;
  logger: Logger;
  warn: ReturnType<typeof createWarnThrottle>;
  heldBackThresholdSeconds: number;
}

/** One retention pass (unless keep is forever), then warnings about consumers and transactions that hold the feed back. */
async function maintain(m: Maintenance, signal: AbortSignal): Promise<RetentionBlocker[]> {
  const { inspector, config, logger } = m;
  let blockers: RetentionBlocker[] = [];
  try {
    if (m.keepSeconds !== null && inspector.prune !== undefined) {
      const result = await inspector.prune({ keepSeconds: m.keepSeconds, batchSize: config.retention.batchSize, pauseMs: config.retention.pauseMs, signal });
      m.metrics.pruned(result.pruned);
      if (result.pruned > 0) logger.info({ events: result.pruned, upTo: result.upTo, batches: result.batches }, 'retention: pruned acknowledged events');
      blockers = result.blockers;
    }
    const feed = await inspector.feed();
    const halted = (await inspector.consumers(feed.headId)).filter((c) => c.halted);
    const heldBack = await inspector.heldBack?.();
    m.warn.only([
      ...blockers.map((b) => ({
        key: `blocked:${b.consumer}`,
        fields: { consumer: b.consumer, position: b.position, halted: b.halted, oldestPending: new Date(b.oldestPendingTime * 1000).toISOString() },
        message: `retention blocked by consumer ${b.consumer}: it has not acknowledged events older than ${config.retention.keep}, so the feed keeps them; fix or reset it, or remove its cursor row if it is gone for good`,
      })),
      ...halted.map((c) => ({
        key: `halted:${c.consumer}`,
        fields: { consumer: c.consumer, position: c.position, lagEvents: c.lagEvents, lastError: c.lastError },
        message: `consumer ${c.consumer} is halted: its events wait in the feed; fix the cause, then stop the daemon and run \`audite cursor reset\` (to the halted event's id minus one to retry it)`,
      })),
      ...(heldBack !== undefined && heldBack.seconds >= m.heldBackThresholdSeconds
        ? [{ key: 'held-back', fields: { heldBackSeconds: Math.round(heldBack.seconds) }, message: `the feed is held back: ${heldBack.description}` }]
        : []),
    ]);
  } catch (error) {
    if (isAuditeError(error, 'DB_LOCKED')) logger.warn({}, 'retention postponed: the database stayed locked beyond the busy timeout');
    else logger.warn({ err: error }, 'retention pass failed; retrying at the next interval');
  }
  return blockers;
}
