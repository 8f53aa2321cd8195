import pRetry from 'p-retry';
import { AuditeError } from '../errors.ts';

/**
 * Retrying a delivery until it succeeds, the signal aborts, or the budget runs out.
 *
 * Delay before retry n (n = 1, 2, …), by p-retry with factor 2 and randomize:
 *   backoff(n) = min(maxDelayMs, minDelayMs × 2^(n-1) × U[1, 2))
 * With the defaults (0.5 s, 60 s): 0.5–1 s, 1–2 s, 2–4 s, 4–8 s, 8–16 s,
 * 16–32 s, 32–60 s, then 60 s for every further retry (forever by default).
 *
 * A server's Retry-After (429/503) is honoured on top of that: the wait is
 * max(backoff(n), min(Retry-After, maxDelayMs)). p-retry has no per-attempt
 * delay, so shouldRetry() sleeps the difference before p-retry sleeps the
 * backoff; both sleeps end at once when the signal aborts.
 */

export interface BackoffPolicy {
  minDelayMs: number;
  maxDelayMs: number;
  /** Retries after the first attempt; Infinity retries forever. */
  maxRetries: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  minDelayMs: 500,
  maxDelayMs: 60_000,
  maxRetries: Number.POSITIVE_INFINITY,
});

/** Defaults for what is missing (undefined counts as missing); rejects values p-retry would refuse mid-delivery. */
export function resolveBackoffPolicy(partial: Partial<BackoffPolicy> = {}): BackoffPolicy {
  const policy: BackoffPolicy = {
    minDelayMs: partial.minDelayMs ?? DEFAULT_BACKOFF.minDelayMs,
    maxDelayMs: partial.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs,
    maxRetries: partial.maxRetries ?? DEFAULT_BACKOFF.maxRetries,
  };
  const { minDelayMs, maxDelayMs, maxRetries } = policy;
  if (!(Number.isFinite(minDelayMs) && minDelayMs >= 0 && maxDelayMs >= minDelayMs)) {
    throw new AuditeError('CONFIG_INVALID', 'retry delays must satisfy 0 <= minDelayMs <= maxDelayMs');
  }
  if (!(maxRetries >= 0 && (Number.isInteger(maxRetries) || maxRetries === Number.POSITIVE_INFINITY))) {
    throw new AuditeError('CONFIG_INVALID', 'retry maxRetries must be a non-negative integer or Infinity');
  }
  return policy;
}

/**
 * A failure worth retrying (network error, timeout, 408/429/5xx). When the
 * retry budget runs out, publish rejects with it: code SINK_UNAVAILABLE.
 */
export class RetryableDeliveryError extends AuditeError {
  readonly status: number | undefined;
  /** The server's Retry-After, already capped at the policy's maxDelayMs. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, details: { status?: number | undefined; retryAfterMs?: number | undefined } = {}, options?: { cause?: unknown }) {
    super('SINK_UNAVAILABLE', message, options);
    this.name = 'RetryableDeliveryError';
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export interface FailedAttempt {
  error: Error;
  attempt: number;
  /** Whether another attempt follows, and after how long. */
  willRetry: boolean;
  delayMs: number;
}

/**
 * Runs `attempt` until it resolves. Only RetryableDeliveryError is retried;
 * anything else (a PermanentDeliveryError, a bug) rejects at once. On abort it
 * rejects with the signal's reason.
 */
export async function retryWithBackoff<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  policy: BackoffPolicy,
  signal: AbortSignal,
  onFailedAttempt: (failure: FailedAttempt) => void = () => {},
): Promise<T> {
  return pRetry(attempt, {
    retries: policy.maxRetries,
    minTimeout: policy.minDelayMs,
    maxTimeout: policy.maxDelayMs,
    factor: 2,
    randomize: true,
    signal,
    onFailedAttempt: ({ error, attemptNumber, retriesLeft, retryDelay }) => {
      const retryable = error instanceof RetryableDeliveryError;
      const willRetry = retryable && retriesLeft > 0;
      const delayMs = willRetry ? Math.max(retryDelay, error.retryAfterMs ?? 0) : 0;
      onFailedAttempt({ error, attempt: attemptNumber, willRetry, delayMs });
    },
    shouldRetry: async ({ error, retryDelay }) => {
      if (!(error instanceof RetryableDeliveryError)) return false;
      const extra = (error.retryAfterMs ?? 0) - retryDelay;
      if (extra > 0) await sleep(extra, signal);
      return true;
    },
  });
}

/**
 * Retry-After as milliseconds from `nowMs`: delta-seconds or an HTTP-date
 * (RFC 9110 §10.2.3). Undefined when absent or unparseable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** A timer that rejects with the signal's reason (not a generic AbortError) and never outlives an abort. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
