/**
 * Hooks a consumer calls as it works; the metrics endpoint implements them.
 * All optional, all cheap: called once per batch, not per event.
 */
export interface ConsumerObserver {
  batchDelivered?(consumer: string, events: number, durationMs: number): void;
  checkpointed?(consumer: string, position: number, eventTime: number): void;
  failed?(consumer: string, kind: 'permanent' | 'transient' | 'poison'): void;
  deadLettered?(consumer: string): void;
  halted?(consumer: string): void;
  /** The sink failed an attempt and will try again (called by the sink, through the relay). */
  retried?(consumer: string): void;
}

/** Calls every observer's hook in turn, so the metrics and a caller's own observer both see each event. */
export function combineObservers(...observers: (ConsumerObserver | undefined)[]): ConsumerObserver {
  const present = observers.filter((o): o is ConsumerObserver => o !== undefined);
  return {
    batchDelivered: (...args) => present.forEach((o) => o.batchDelivered?.(...args)),
    checkpointed: (...args) => present.forEach((o) => o.checkpointed?.(...args)),
    failed: (...args) => present.forEach((o) => o.failed?.(...args)),
    deadLettered: (...args) => present.forEach((o) => o.deadLettered?.(...args)),
    halted: (...args) => present.forEach((o) => o.halted?.(...args)),
    retried: (...args) => present.forEach((o) => o.retried?.(...args)),
  };
}
