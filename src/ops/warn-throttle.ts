import type { Logger } from '../relay/logger.ts';

export interface Warning {
  key: string;
  fields: Record<string, unknown>;
  message: string;
}

/** A standing problem is logged when it appears, then every `everyMs` while it lasts (a halted consumer must not go quiet). */
export function createWarnThrottle(logger: Logger, everyMs = 10 * 60_000, now: () => number = Date.now): { only(current: Warning[]): void } {
  const last = new Map<string, number>();
  return {
    /** Logs the warnings due among `current`; forgets problems that are gone, so a recurrence is logged at once. */
    only(current) {
      const keys = new Set(current.map((w) => w.key));
      for (const key of [...last.keys()]) if (!keys.has(key)) last.delete(key);
      for (const w of current) {
        const at = last.get(w.key);
        if (at !== undefined && now() - at < everyMs) continue;
        last.set(w.key, now());
        logger.warn(w.fields, w.message);
      }
    },
  };
}
