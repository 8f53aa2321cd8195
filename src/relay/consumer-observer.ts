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
}
