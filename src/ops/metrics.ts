import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConsumerObserver } from '../relay/consumer-observer.ts';
import type { ConsumerReport, FeedReport } from './consumer-status.ts';
import type { RetentionBlocker } from './retention.ts';

/** What the gauges show, read from the database once per scrape. */
export interface OpsSample {
  feed: FeedReport;
  consumers: ConsumerReport[];
  /** Tables with stale or missing triggers. */
  stale: string[];
  /** Consumers holding back retention, from the last prune pass. */
  blockers: RetentionBlocker[];
  /** How long a running transaction has kept the feed from advancing (PostgreSQL); 0 when none. */
  heldBackSeconds: number;
}

export interface RelayMetrics {
  /** The Prometheus text: our own registry (never prom-client's global one, so two relays in one process do not collide) plus process metrics. */
  render(): Promise<{ contentType: string; text: string }>;
  /** Counters and the batch histogram, fed by the consumers. */
  readonly observer: ConsumerObserver;
  update(sample: OpsSample): void;
  pruned(events: number): void;
  schemaRefreshed(tables: readonly string[]): void;
}

const FAILURE_KINDS = ['transient', 'permanent', 'poison'] as const;

let processMetrics: Registry | undefined;

/**
 * Memory, CPU, event-loop lag, GC: once per process. collectDefaultMetrics
 * starts an event-loop monitor and a GC observer that are never stopped, so a
 * process that starts many relays (tests, library use) must not repeat it.
 */
function processRegistry(): Registry {
  if (processMetrics === undefined) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** Names follow Prometheus conventions: `_total` counters, base units (seconds), one label per consumer. */
export function createRelayMetrics(consumers: readonly string[]): RelayMetrics {
  const own = new Registry();
  const consumer = ['consumer'] as const;
  const published = new Counter({
    name: 'audite_events_published_total',
    help: 'Events acknowledged by the sink',
    labelNames: consumer,
    registers: [own],
  });
  const errors = new Counter({
    name: 'audite_delivery_errors_total',
    help: 'Failed batches: transient (retried by the consumer loop), permanent (refused by the sink), poison (not a valid CloudEvent)',
    labelNames: ['consumer', 'kind'] as const,
    registers: [own],
  });
  const retries = new Counter({
    name: 'audite_delivery_retries_total',
    help: 'Delivery attempts the sink failed and retried',
    labelNames: consumer,
    registers: [own],
  });
  const deadLettered = new Counter({
    name: 'audite_dead_lettered_total',
    help: 'Events moved to audite_deadletter by this process',
    labelNames: consumer,
    registers: [own],
  });
  const batches = new Histogram({
    name: 'audite_batch_duration_seconds',
    help: 'Time from reading a batch to its checkpoint, sink retries included',
    labelNames: consumer,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [own],
  });
  const gauge = (name: string, help: string, labelNames: readonly string[] = consumer): Gauge => new Gauge({ name, help, labelNames, registers: [own] });
  const lagEvents = gauge('audite_consumer_lag_events', 'Events in the feed past the checkpoint');
  const lagSeconds = gauge('audite_consumer_lag_seconds', 'Age of the oldest unacknowledged event; 0 when caught up');
  const position = gauge('audite_checkpoint_position', 'Last acknowledged feed id');
  const lastDelivery = gauge('audite_consumer_last_delivery_timestamp_seconds', 'When the checkpoint last moved forward');
  const halted = gauge('audite_consumer_halted', '1 when the consumer is halted on an event its sink refused for good');
  const deadLetters = gauge('audite_dead_letters', 'Events waiting in audite_deadletter');
  const blocked = gauge('audite_retention_blocked', '1 when this consumer holds back events older than the retention window');
  const stale = gauge('audite_stale_triggers', '1 per table whose capture triggers are stale or missing', ['table']);
  const head = gauge('audite_feed_head_id', 'Newest feed id', []);
  const oldest = gauge('audite_feed_oldest_id', 'Oldest feed id still stored', []);
  const oldestAge = gauge('audite_feed_oldest_event_age_seconds', 'Age of the oldest stored event', []);
  const heldBack = gauge(
    'audite_source_held_back_seconds',
    'How long the oldest running writer transaction has kept the feed from advancing (PostgreSQL; events after it wait, none are lost); 0 when none',
    [],
  );
  const pruned = new Counter({ name: 'audite_retention_pruned_events_total', help: 'Events deleted by retention', registers: [own] });
  const refreshed = new Counter({ name: 'audite_schema_refreshes_total', help: 'Tables whose triggers autoRefresh rebuilt', registers: [own] });

  // Series start at 0, so rate() and increase() see the first event.
  for (const name of consumers) {
    published.inc({ consumer: name }, 0);
    retries.inc({ consumer: name }, 0);
    deadLettered.inc({ consumer: name }, 0);
    for (const kind of FAILURE_KINDS) errors.inc({ consumer: name, kind }, 0);
  }

  const observer: ConsumerObserver = {
    batchDelivered: (name, events, durationMs) => {
      published.inc({ consumer: name }, events);
      batches.observe({ consumer: name }, durationMs / 1000);
    },
    failed: (name, kind) => errors.inc({ consumer: name, kind }),
    deadLettered: (name) => deadLettered.inc({ consumer: name }),
    retried: (name) => retries.inc({ consumer: name }),
  };

  return {
    // Merged after every metric is registered: merge() copies the list it sees.
    render: async () => {
      const registry = Registry.merge([own, processRegistry()]);
      return { contentType: registry.contentType, text: await registry.metrics() };
    },
    observer,
    update(sample) {
      const nowSeconds = Date.now() / 1000;
      for (const g of [lagEvents, lagSeconds, position, lastDelivery, halted, deadLetters, blocked, stale]) g.reset();
      const blockers = new Set(sample.blockers.map((b) => b.consumer));
      for (const c of sample.consumers) {
        const labels = { consumer: c.consumer };
        lagEvents.set(labels, c.lagEvents);
        lagSeconds.set(labels, c.lagSeconds);
        position.set(labels, c.position);
        if (c.lastDeliveryAt !== null) lastDelivery.set(labels, Date.parse(c.lastDeliveryAt) / 1000);
        halted.set(labels, c.halted ? 1 : 0);
        deadLetters.set(labels, c.deadLetters);
        blocked.set(labels, blockers.has(c.consumer) ? 1 : 0);
      }
      for (const table of sample.stale) stale.set({ table }, 1);
      head.set(sample.feed.headId);
      oldest.set(sample.feed.oldestId ?? 0);
      heldBack.set(sample.heldBackSeconds);
      oldestAge.set(sample.feed.oldestTime === null ? 0 : Math.max(0, Math.round(nowSeconds - sample.feed.oldestTime)));
    },
    pruned: (events) => pruned.inc(events),
    schemaRefreshed: (tables) => refreshed.inc(tables.length),
  };
}
