import { describe, expect, test } from 'vitest';
import { DEFAULT_BACKOFF, parseRetryAfter, resolveBackoffPolicy, retryWithBackoff, RetryableDeliveryError, sleep } from '../../src/sinks/backoff.ts';
import { PermanentDeliveryError } from '../../src/sinks/permanent-delivery-error.ts';

const fast = { minDelayMs: 1, maxDelayMs: 5, maxRetries: Number.POSITIVE_INFINITY };

describe('parseRetryAfter', () => {
  test('delta-seconds and HTTP-date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('1', now)).toBe(1000);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('resolveBackoffPolicy', () => {
  test('fills in defaults, ignoring undefined; retries forever by default', () => {
    expect(resolveBackoffPolicy()).toEqual({ minDelayMs: 500, maxDelayMs: 60_000, maxRetries: Infinity });
    expect(resolveBackoffPolicy({ minDelayMs: 10, maxDelayMs: undefined })).toEqual({ ...DEFAULT_BACKOFF, minDelayMs: 10 });
  });

  test.each([{ minDelayMs: -1 }, { minDelayMs: 100, maxDelayMs: 10 }, { maxRetries: 1.5 }, { maxRetries: Number.NaN }])('rejects %j', (policy) => {
    expect(() => resolveBackoffPolicy(policy)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('retryWithBackoff', () => {
  test('retries retryable failures until success, reporting each', async () => {
    const failures: { attempt: number; willRetry: boolean }[] = [];
    let calls = 0;
    const result = await retryWithBackoff(
      async () => {
        calls++;
        if (calls < 4) throw new RetryableDeliveryError('HTTP 503');
        return 'done';
      },
      fast,
      new AbortController().signal,
      ({ attempt, willRetry }) => failures.push({ attempt, willRetry }),
    );
    expect(result).toBe('done');
    expect(failures).toEqual([1, 2, 3].map((attempt) => ({ attempt, willRetry: true })));
  });

  test('stops at maxRetries with the last retryable error', async () => {
    let calls = 0;
    const run = retryWithBackoff(
      async () => {
        calls++;
        throw new RetryableDeliveryError(`HTTP 503 #${calls}`);
      },
      { ...fast, maxRetries: 2 },
      new AbortController().signal,
    );
    await expect(run).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE', message: 'HTTP 503 #3' });
    expect(calls).toBe(3);
  });

  test('does not retry a permanent error', async () => {
    let calls = 0;
    const permanent = new PermanentDeliveryError('HTTP 400', { position: 3, status: 400 });
    await expect(
      retryWithBackoff(
        async () => {
          calls++;
          throw permanent;
        },
        fast,
        new AbortController().signal,
      ),
    ).rejects.toBe(permanent);
    expect(calls).toBe(1);
  });

  test('Retry-After sets a floor under the backoff', async () => {
    let calls = 0;
    const started = performance.now();
    await retryWithBackoff(
      async () => {
        if (++calls === 1) throw new RetryableDeliveryError('HTTP 429', { status: 429, retryAfterMs: 150 });
      },
      fast,
      new AbortController().signal,
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  test('abort during a Retry-After wait rejects with the reason', async () => {
    const controller = new AbortController();
    const reason = new Error('shutdown');
    const run = retryWithBackoff(
      async () => {
        setTimeout(() => controller.abort(reason), 10);
        throw new RetryableDeliveryError('HTTP 429', { retryAfterMs: 60_000 });
      },
      fast,
      controller.signal,
    );
    await expect(run).rejects.toBe(reason);
  });
});

describe('sleep', () => {
  test('rejects with the reason at once on abort, or when already aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const pending = sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(sleep(1, controller.signal)).rejects.toBe(reason);
  });
});
