import { RETENTION_WINDOW } from '../config/config-schema.ts';
import { AuditeError } from '../errors.ts';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `forever` → null; `7d` → 604800 (seconds, the feed's time unit). */
export function parseRetentionWindow(text: string, what = 'retention window'): number | null {
  const input = text.trim().toLowerCase();
  if (!RETENTION_WINDOW.test(input)) {
    throw new AuditeError('INVALID_ARGUMENT', `${what} ${JSON.stringify(text)} is not valid: use forever, or a duration such as 30s, 15m, 12h, 7d, 2w`);
  }
  if (input === 'forever') return null;
  const unit = input.slice(-1);
  return Number(input.slice(0, -1)) * (UNIT_SECONDS[unit] as number);
}
