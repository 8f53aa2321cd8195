import type { OutboundEvent } from '../events/outbound-event.ts';

/**
 * A destination for events. Implementations: stdout/file, HTTP, Kafka.
 *
 * `publish` resolves only once the destination acknowledged every event, in
 * order. Transient failures are retried inside the sink until `signal` aborts
 * (then it rejects with the abort reason). A failure that retrying cannot fix
 * rejects with a PermanentDeliveryError naming the event at fault, so the
 * consumer can apply its policy (halt, dead-letter, skip).
 */
export interface Sink {
  readonly kind: string;
  publish(events: readonly OutboundEvent[], signal: AbortSignal): Promise<void>;
  /** Whether the sink is connected and delivering; reason when not. */
  health(): SinkHealth;
  close(): Promise<void>;
}

export interface SinkHealth {
  ready: boolean;
  reason?: string;
}
