import type { Sink } from '../sinks/sink.ts';
import type { HeldBack } from './feed-inspector.ts';

export interface Readiness {
  ready: boolean;
  /** One line per problem; empty when ready. */
  reasons: string[];
}

export interface ReadinessInput {
  stopping: boolean;
  /** Why the feed could not be read, undefined when it could. */
  sourceError: unknown;
  /** A transaction holding the feed back beyond the threshold. */
  heldBack?: HeldBack | undefined;
  consumers: readonly { name: string; sink: Sink; outcome: string | undefined; lastError: string | null }[];
  stale: readonly string[];
  autoRefresh: boolean;
  /** Capture cannot be planned or refreshed (see SchemaState.problem). */
  schemaProblem: string | null;
}

/**
 * Ready = the source is readable and not held back by a long transaction,
 * every consumer runs and its sink is delivering, and capture is current (stale triggers that autoRefresh will
 * rebuild do not count). Reasons carry no row data: sink reasons name the
 * target without credentials, cursor errors name event ids and statuses.
 */
export function checkReadiness(input: ReadinessInput): Readiness {
  const reasons: string[] = [];
  if (input.stopping) reasons.push('relay is stopping');
  const error = input.sourceError;
  if (error !== undefined) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String((error as { code: unknown }).code) : 'error';
    reasons.push(`source: the change feed cannot be read (${code})`);
  }
  if (input.heldBack !== undefined) reasons.push(`source: the feed is held back: ${input.heldBack.description}`);
  for (const c of input.consumers) {
    if (c.outcome === 'halted') {
      reasons.push(
        `consumer ${c.name}: halted${c.lastError === null ? '' : ` on ${c.lastError}`}; fix the cause, then stop the daemon and run \`audite cursor reset\``,
      );
      continue;
    }
    if (c.outcome !== undefined) continue;
    const health = c.sink.health();
    if (!health.ready) reasons.push(`consumer ${c.name}: sink ${c.sink.kind} not delivering${health.reason === undefined ? '' : `: ${health.reason}`}`);
  }
  if (input.stale.length > 0 && !input.autoRefresh) {
    reasons.push(
      `stale capture triggers on ${input.stale.join(', ')}: changes there are captured incompletely or not at all; run \`audite enable\` (or set schema.autoRefresh)`,
    );
  }
  if (input.schemaProblem !== null) reasons.push(`capture: ${input.schemaProblem}`);
  return { ready: reasons.length === 0, reasons };
}
