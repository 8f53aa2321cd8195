import { createHmac, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { createEventBuilder } from '../../src/events/cloudevent-builder.ts';
import type { OutboundEvent } from '../../src/events/outbound-event.ts';
import { createHttpSink, type HttpSinkOptions, type SinkLogger } from '../../src/sinks/http-sink.ts';
import { PermanentDeliveryError } from '../../src/sinks/permanent-delivery-error.ts';
import { startReceiver, type HttpReceiver } from '../support/http-receiver.ts';

const BIG = '9007199254740993';
const build = createEventBuilder();

function events(count: number, first = 1): OutboundEvent[] {
  return Array.from({ length: count }, (_, i) =>
    build({
      id: first + i,
      table: 'orders',
      subject: String(first + i),
      type: 'orders.created',
      time: 1_700_000_000,
      specversion: '1.0',
      data: `{"new":{"id":${first + i},"big":${BIG}},"old":null}`,
      context: '{"actor":"Zoë","request_id":"r 1"}',
    }),
  );
}

const fastRetry = { minDelayMs: 5, maxDelayMs: 20 };

function sink(receiver: HttpReceiver, options: Partial<HttpSinkOptions> = {}, logger?: SinkLogger) {
  return createHttpSink({ url: receiver.url, retry: fastRetry, timeoutMs: 2000, ...options }, logger ? { logger } : {});
}

function recordingLogger(): SinkLogger & { lines: string[] } {
  const lines: string[] = [];
  const record = (obj: object, msg?: string) => lines.push(JSON.stringify({ ...obj, msg }));
  return { lines, debug: record, info: record, warn: record, error: record };
}

const never = () => new AbortController().signal;

describe('HTTP sink: modes', () => {
  test('binary: exact headers and body, one request per event, in order', async () => {
    const receiver = await startReceiver();
    const batch = events(3);
    await sink(receiver, { headers: { 'X-Api-Key': 'k' } }).publish(batch, never());
    expect(receiver.requests.map((r) => r.headers['ce-id'])).toEqual(['1', '2', '3']);
    const first = receiver.requests[0]!;
    expect(first.method).toBe('POST');
    expect(first.url).toBe('/hook');
    expect(first.body).toBe(batch[0]!.data);
    expect(first.body).toContain(BIG);
    expect(first.headers).toMatchObject({
      'content-type': 'application/json',
      'x-api-key': 'k',
      'ce-specversion': '1.0',
      'ce-id': '1',
      'ce-source': 'orders',
      'ce-type': 'orders.created',
      'ce-subject': '1',
      'ce-time': '2023-11-14T22:13:20.000Z',
      'ce-sequence': '00000000000000000001',
      'ce-actor': 'Zo%C3%AB',
      'ce-requestid': 'r%201',
    });
    expect(first.headers).not.toHaveProperty('ce-datacontenttype');
  });

  test('structured: one envelope per request, PUT allowed', async () => {
    const receiver = await startReceiver();
    await sink(receiver, { mode: 'structured', method: 'PUT' }).publish(events(2), never());
    expect(receiver.requests).toHaveLength(2);
    const request = receiver.requests[1]!;
    expect(request.method).toBe('PUT');
    expect(request.headers['content-type']).toBe('application/cloudevents+json; charset=utf-8');
    expect(request.body).toContain(`"data":{"new":{"id":2,"big":${BIG}},"old":null}}`);
    expect(JSON.parse(request.body)).toMatchObject({ id: '2', actor: 'Zoë', requestid: 'r 1' });
  });

  test('batch: one request per publish, events in order', async () => {
    const receiver = await startReceiver();
    const s = sink(receiver, { mode: 'batch' });
    await s.publish(events(3), never());
    await s.publish([], never());
    expect(receiver.requests).toHaveLength(1);
    const request = receiver.requests[0]!;
    expect(request.headers['content-type']).toBe('application/cloudevents-batch+json; charset=utf-8');
    expect((JSON.parse(request.body) as { id: string }[]).map((e) => e.id)).toEqual(['1', '2', '3']);
    expect(request.body.split(`"big":${BIG}`)).toHaveLength(4);
  });
});

describe('HTTP sink: transient faults', () => {
  test('no event lost or reordered across 500s, timeouts and resets', async () => {
    const receiver = await startReceiver();
    receiver.enqueue('ok', 'error500', 'error500', 'hang', 'ok', 'reset', 'ok', { status: 503 }, { status: 408 });
    const s = sink(receiver, { timeoutMs: 300 });
    await s.publish(events(5), never());
    expect(receiver.delivered().map((r) => r.headers['ce-id'])).toEqual(['1', '2', '3', '4', '5']);
    expect(receiver.requests.map((r) => r.headers['ce-id'])).toEqual(['1', '2', '2', '2', '2', '3', '3', '4', '4', '4', '5']);
    expect(s.health()).toEqual({ ready: true });
  });

  test('429 with Retry-After: 1 waits about a second before retrying', async () => {
    const receiver = await startReceiver();
    receiver.enqueue('retryAfter');
    // Retry-After is capped at maxDelayMs, so leave room for it.
    await sink(receiver, { retry: { minDelayMs: 5, maxDelayMs: 5000 } }).publish(events(1), never());
    const [refused, accepted] = receiver.requests;
    expect(refused!.outcome).toBe('retryAfter');
    expect(accepted!.outcome).toBe('ok');
    expect(accepted!.at - refused!.at).toBeGreaterThanOrEqual(950);
  });

  test('health reports the failure, then recovers; exhausted retries reject SINK_UNAVAILABLE', async () => {
    const receiver = await startReceiver();
    receiver.setDefault('error500');
    const s = sink(receiver, { retry: { ...fastRetry, maxRetries: 2 } });
    expect(s.health()).toEqual({ ready: true });
    const error = await s.publish(events(1), never()).catch((e: unknown) => e);
    expect(isAuditeError(error, 'SINK_UNAVAILABLE')).toBe(true);
    expect(receiver.requests).toHaveLength(3);
    expect(s.health()).toEqual({ ready: false, reason: `HTTP 500 from ${receiver.url}` });
    receiver.setDefault('ok');
    await s.publish(events(1), never());
    expect(s.health()).toEqual({ ready: true });
  });

  test('connection refused shows in health', async () => {
    const receiver = await startReceiver();
    await receiver.close();
    const s = sink(receiver, { retry: { ...fastRetry, maxRetries: 1 } });
    await expect(s.publish(events(1), never())).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
    expect(s.health()).toEqual({ ready: false, reason: `connection refused to ${receiver.url}` });
  });
});

describe('HTTP sink: permanent failures and abort', () => {
  test('400 rejects with PermanentDeliveryError naming the event, status and truncated body', async () => {
    const receiver = await startReceiver();
    const logger = recordingLogger();
    receiver.enqueue('ok', { status: 400, body: 'x'.repeat(10_000) });
    const error = await sink(receiver, {}, logger)
      .publish(events(3), never())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    const permanent = error as PermanentDeliveryError;
    expect(permanent.code).toBe('SINK_PERMANENT');
    expect(permanent.position).toBe(2);
    expect(permanent.status).toBe(400);
    expect(permanent.responseBody).toBe('x'.repeat(2048));
    expect(receiver.requests).toHaveLength(2);
    expect(logger.lines.join('\n')).not.toContain('xxxx');
  });

  test('a redirect is not followed and is permanent', async () => {
    const receiver = await startReceiver();
    receiver.enqueue({ status: 302, headers: { location: '/elsewhere' } });
    const error = await sink(receiver)
      .publish(events(1), never())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SINK_PERMANENT', status: 302, position: 1 });
    expect(receiver.requests.map((r) => r.url)).toEqual(['/hook']);
  });

  test('batch mode: a refused batch has no position', async () => {
    const receiver = await startReceiver();
    receiver.enqueue('badRequest');
    const error = await sink(receiver, { mode: 'batch' })
      .publish(events(2), never())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SINK_PERMANENT', status: 400, position: undefined, responseBody: '{"error":"bad request"}' });
  });

  test('abort during the retry sleep rejects promptly with the reason', async () => {
    const receiver = await startReceiver();
    receiver.setDefault('error500');
    const controller = new AbortController();
    const s = sink(receiver, { retry: { minDelayMs: 30_000, maxDelayMs: 60_000 } });
    const publishing = s.publish(events(1), controller.signal);
    await receiver.waitForRequests(1);
    const reason = new Error('shutting down');
    const started = performance.now();
    controller.abort(reason);
    await expect(publishing).rejects.toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test('abort during a hanging request rejects with the reason', async () => {
    const receiver = await startReceiver();
    receiver.setDefault('hang');
    const controller = new AbortController();
    const publishing = sink(receiver, { timeoutMs: 30_000 }).publish(events(1), controller.signal);
    await receiver.waitForRequests(1);
    controller.abort('stop');
    await expect(publishing).rejects.toBe('stop');
  });

  test('close() stops a publish in progress', async () => {
    const receiver = await startReceiver();
    receiver.setDefault('error500');
    const s = sink(receiver, { retry: { minDelayMs: 30_000 } });
    const publishing = s.publish(events(1), never());
    await receiver.waitForRequests(1);
    await s.close();
    await expect(publishing).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
    await expect(s.publish(events(1), never())).rejects.toMatchObject({ code: 'SINK_UNAVAILABLE' });
  });
});

describe('HTTP sink: signing and secrets', () => {
  test('Standard Webhooks headers verify; id stable across retries, timestamp per attempt', async () => {
    const receiver = await startReceiver();
    receiver.enqueue('error500');
    const key = randomBytes(24);
    let clock = 1_700_000_000_000;
    const s = createHttpSink({ url: receiver.url, retry: fastRetry, signing: { secret: `whsec_${key.toString('base64')}` } }, { now: () => (clock += 1000) });
    await s.publish(events(1, 10), never());
    const [first, second] = receiver.requests;
    for (const request of [first!, second!]) {
      const { 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': signature } = request.headers;
      const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest('base64');
      expect(signature).toBe(`v1,${expected}`);
      expect(id).toBe('10');
    }
    expect(Number(second!.headers['webhook-timestamp'])).toBeGreaterThan(Number(first!.headers['webhook-timestamp']));
  });

  test('batch webhook-id is first-last', async () => {
    const receiver = await startReceiver();
    const secret = `whsec_${randomBytes(24).toString('base64')}`;
    await sink(receiver, { mode: 'batch', signing: { secret } }).publish(events(3, 5), never());
    expect(receiver.requests[0]!.headers['webhook-id']).toBe('5-7');
  });

  test('URL credentials become Basic auth and never reach errors, health or logs', async () => {
    const receiver = await startReceiver();
    receiver.setDefault('error500');
    const logger = recordingLogger();
    const url = receiver.url.replace('http://', 'http://user:s3cr3t@') + '?token=t0k3n';
    const s = createHttpSink({ url, retry: { ...fastRetry, maxRetries: 1 } }, { logger });
    const error = (await s.publish(events(1), never()).catch((e: unknown) => e)) as Error;
    expect(receiver.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('user:s3cr3t').toString('base64')}`);
    expect(receiver.requests[0]!.url).toBe('/hook?token=t0k3n');
    const exposed = [error.message, JSON.stringify(s.health()), ...logger.lines].join('\n');
    expect(exposed).toContain(`${receiver.url}?[redacted]`);
    expect(exposed).not.toMatch(/s3cr3t|t0k3n|user/);
  });

  test('bad configuration is rejected without echoing values', () => {
    expect(() => createHttpSink({ url: 'ftp://x' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => createHttpSink({ url: 'not a url secret' })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    try {
      createHttpSink({ url: 'http://127.0.0.1/', headers: { authorization: 'Bearer x\nsecret' } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
  });

  test('a pino logger fits the logger seam', () => {
    const logger: SinkLogger = pino({ level: 'silent' });
    expect(createHttpSink({ url: 'http://127.0.0.1/' }, { logger }).kind).toBe('http');
  });
});
