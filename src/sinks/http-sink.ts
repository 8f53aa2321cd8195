import { AuditeError } from '../errors.ts';
import { batch, binary, structured, type HttpMessage } from '../events/http-binding.ts';
import type { OutboundEvent } from '../events/outbound-event.ts';
import { parseRetryAfter, resolveBackoffPolicy, retryWithBackoff, RetryableDeliveryError, type BackoffPolicy, type FailedAttempt } from './backoff.ts';
import { PermanentDeliveryError } from './permanent-delivery-error.ts';
import type { Sink, SinkHealth } from './sink.ts';
import { createWebhookSigner } from './webhook-signature.ts';

/**
 * Delivers CloudEvents over HTTP with global fetch (undici keeps connections
 * alive between requests). Binary and structured modes send one request per
 * event, strictly in order; batch mode sends one request per publish call.
 *
 * Outcomes: 2xx delivered; 408, 429, 5xx, network errors and timeouts are
 * retried (see backoff.ts); any other status (other 4xx, and 3xx, since
 * redirects are not followed: following a 301/302 would turn a POST into a
 * GET) rejects with PermanentDeliveryError.
 *
 * health(): ready until an attempt fails, not ready (with the reason) after a
 * failed attempt, ready again after the next success. A sink that has not
 * delivered anything yet counts as ready: readiness reports known failures,
 * it does not probe the destination.
 */

export interface HttpSinkOptions {
  url: string;
  method?: 'POST' | 'PUT';
  /** Extra request headers, values already resolved. Our own (content-type, ce-*, webhook-*) win over them. */
  headers?: Readonly<Record<string, string>>;
  mode?: 'binary' | 'structured' | 'batch';
  /** Per attempt, covering the response body too. */
  timeoutMs?: number;
  retry?: Partial<BackoffPolicy>;
  signing?: { secret: string };
}

/** The part of a pino logger the sink uses. */
export interface SinkLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface HttpSinkDeps {
  logger?: SinkLogger;
  fetch?: typeof globalThis.fetch;
  /** Called for each failed attempt that will be retried (the relay counts them for /metrics). */
  onRetry?: () => void;
  /** Clock for webhook-timestamp and HTTP-date Retry-After, in ms. */
  now?: () => number;
}

/** How much of a refusal's body a PermanentDeliveryError keeps. */
export const MAX_RESPONSE_BODY_BYTES = 2048;
// Bodies are drained (so the connection can be reused) up to this much, then cut off.
const MAX_DRAIN_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 10_000;
// setTimeout fires at once for anything longer.
const MAX_TIMER_MS = 2 ** 31 - 1;

const silent: SinkLogger = { debug() {}, info() {}, warn() {}, error() {} };

export function createHttpSink(options: HttpSinkOptions, deps: HttpSinkDeps = {}): Sink {
  const target = parseTarget(options.url);
  const method = options.method ?? 'POST';
  const mode = options.mode ?? 'binary';
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    throw new AuditeError('CONFIG_INVALID', 'HTTP sink timeoutMs must be a positive number of milliseconds');
  }
  const policy: BackoffPolicy = resolveBackoffPolicy(options.retry);
  const baseHeaders = requestHeaders(options.headers ?? {}, target.authorization);
  const signer = options.signing === undefined ? undefined : createWebhookSigner(options.signing.secret);
  const log = deps.logger ?? silent;
  const doFetch = deps.fetch ?? globalThis.fetch;
  const now = deps.now ?? Date.now;
  const closing = new AbortController();
  let health: SinkHealth = { ready: true };

  function failed(reason: string): void {
    health = { ready: false, reason };
  }

  function succeeded(): void {
    if (!health.ready) log.info({ sink: 'http', target: target.display }, 'HTTP sink delivering again');
    health = { ready: true };
  }

  async function attempt(message: HttpMessage, webhookId: string, position: number | undefined, signal: AbortSignal): Promise<void> {
    const headers = { ...baseHeaders, ...message.headers };
    if (signer !== undefined) Object.assign(headers, signer.headers(webhookId, Math.floor(now() / 1000), message.body));

    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const requestSignal = AbortSignal.any([signal, timeout.signal]);
    let status: number;
    let retryAfter: string | null;
    let responseBody: string;
    try {
      const response = await doFetch(target.url, {
        method,
        headers,
        body: message.body,
        redirect: 'manual',
        signal: requestSignal,
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      responseBody = await readPrefix(response, status >= 200 && status < 300 ? 0 : MAX_RESPONSE_BODY_BYTES);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      const reason = timeout.signal.aborted ? `timeout after ${timeoutMs} ms waiting for ${target.display}` : describeNetworkError(error, target.display);
      failed(reason);
      throw new RetryableDeliveryError(reason, {}, { cause: error });
    } finally {
      clearTimeout(timer);
    }

    if (status >= 200 && status < 300) {
      succeeded();
      return;
    }
    const reason = `HTTP ${status} from ${target.display}`;
    failed(reason);
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(retryAfter, now());
      throw new RetryableDeliveryError(reason, {
        status,
        retryAfterMs: retryAfterMs === undefined ? undefined : Math.min(retryAfterMs, policy.maxDelayMs),
      });
    }
    // The body goes to the error (for dead-lettering), never to the log.
    log.error({ sink: 'http', target: target.display, status, position }, 'HTTP destination refused delivery');
    throw new PermanentDeliveryError(reason, { position, status, responseBody });
  }

  function onFailedAttempt({ error, attempt: n, willRetry, delayMs }: FailedAttempt): void {
    if (!(error instanceof RetryableDeliveryError)) return;
    const fields = { sink: 'http', target: target.display, attempt: n, status: error.status, reason: error.message };
    if (willRetry) {
      deps.onRetry?.();
      log.warn({ ...fields, retryInMs: delayMs }, 'HTTP delivery failed, retrying');
    } else log.warn(fields, 'HTTP delivery failed, giving up');
  }

  function deliver(message: HttpMessage, webhookId: string, position: number | undefined, signal: AbortSignal) {
    return retryWithBackoff(() => attempt(message, webhookId, position, signal), policy, signal, onFailedAttempt);
  }

  return {
    kind: 'http',
    async publish(events, callerSignal) {
      const signal = AbortSignal.any([callerSignal, closing.signal]);
      signal.throwIfAborted();
      if (events.length === 0) return;
      if (mode === 'batch') {
        await deliver(batch(events), batchWebhookId(events), undefined, signal);
        return;
      }
      const serialize = mode === 'structured' ? structured : binary;
      for (const event of events) {
        await deliver(serialize(event), eventId(event), event.position, signal);
      }
    },
    health: () => health,
    async close() {
      closing.abort(new AuditeError('SINK_UNAVAILABLE', 'HTTP sink closed'));
    },
  };
}

function eventId(event: OutboundEvent): string {
  return event.attributes.id ?? String(event.position);
}

/** A batch's webhook-id: `<first id>-<last id>`, e.g. `17-42`; stable across retries of the same batch. */
export function batchWebhookId(events: readonly OutboundEvent[]): string {
  return `${eventId(events[0] as OutboundEvent)}-${eventId(events[events.length - 1] as OutboundEvent)}`;
}

interface Target {
  /** The URL fetch uses: credentials moved to `authorization`. */
  url: string;
  /** For logs and messages: no credentials, no query string. */
  display: string;
  authorization: string | undefined;
}

function parseTarget(raw: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    // Not echoed: the text may hold credentials.
    throw new AuditeError('CONFIG_INVALID', 'HTTP sink url is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AuditeError('CONFIG_INVALID', `HTTP sink url must be http or https, not ${url.protocol}`);
  }
  let authorization: string | undefined;
  // fetch refuses URLs with credentials, so they become Basic auth.
  if (url.username !== '' || url.password !== '') {
    const pair = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    authorization = `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
    url.username = '';
    url.password = '';
  }
  const display = `${url.protocol}//${url.host}${url.pathname}${url.search === '' ? '' : '?[redacted]'}`;
  return { url: url.href, display, authorization };
}

function requestHeaders(extra: Readonly<Record<string, string>>, authorization: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  for (const [name, value] of Object.entries(extra)) {
    try {
      new Headers([[name, value]]);
    } catch {
      // The value may be a secret: name only.
      throw new AuditeError('CONFIG_INVALID', `HTTP sink header ${JSON.stringify(name)} is not a valid header`);
    }
    headers[name.toLowerCase()] = value;
  }
  return headers;
}

/** Reads up to `keep` bytes of the body as text and drains the rest (bounded), so keep-alive can reuse the socket. */
async function readPrefix(response: Response, keep: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const kept: Uint8Array[] = [];
  let keptBytes = 0;
  let seen = 0;
  try {
    while (seen <= MAX_DRAIN_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
      if (keptBytes < keep) {
        const slice = value.subarray(0, keep - keptBytes);
        kept.push(slice);
        keptBytes += slice.byteLength;
      }
    }
    if (seen > MAX_DRAIN_BYTES) await reader.cancel();
  } finally {
    reader.releaseLock();
  }
  return new TextDecoder().decode(Buffer.concat(kept));
}

const NETWORK_ERRORS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused to',
  ECONNRESET: 'connection reset by',
  EPIPE: 'connection reset by',
  UND_ERR_SOCKET: 'connection reset by',
  UND_ERR_CLOSED: 'connection reset by',
  ENOTFOUND: 'host not found for',
  EAI_AGAIN: 'host not found for',
  ETIMEDOUT: 'connect timeout to',
  UND_ERR_CONNECT_TIMEOUT: 'connect timeout to',
  EHOSTUNREACH: 'host unreachable:',
  ENETUNREACH: 'network unreachable for',
};

/** A short, credential-free reason from undici's `fetch failed` TypeError and its cause chain. */
function describeNetworkError(error: unknown, display: string): string {
  const code = errorCode(error);
  if (code === undefined) return `network error talking to ${display}`;
  const phrase = NETWORK_ERRORS[code];
  return phrase === undefined ? `network error (${code}) talking to ${display}` : `${phrase} ${display}`;
}

function errorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const { code, cause } = e as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    e = cause;
  }
  return undefined;
}
