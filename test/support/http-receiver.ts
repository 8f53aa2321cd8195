import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect } from 'vitest';

/**
 * A real HTTP server on 127.0.0.1 that records every request and answers
 * each one according to a programmable queue of faults.
 *
 * Every receiver is closed after each test, and the test then fails if it
 * left a server listening or a timer pending.
 */

export type Fault =
  /** 200 (the default answer). */
  | 'ok'
  /** 500 with a short body. */
  | 'error500'
  /** Never answer: the client must time out. The socket is destroyed on close. */
  | 'hang'
  /** Read the request, then destroy the socket (connection reset). */
  | 'reset'
  /** 429 with `Retry-After: 1`. */
  | 'retryAfter'
  /** 400 with a body. */
  | 'badRequest'
  | { status: number; headers?: Record<string, string>; body?: string };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The fault applied, 'ok' for a 200. */
  outcome: string;
  /** performance.now() when the body had arrived. */
  at: number;
}

export interface HttpReceiver {
  readonly url: string;
  /** Every request, in arrival order, whatever the answer. */
  readonly requests: RecordedRequest[];
  /** The requests answered 2xx, in arrival order. */
  delivered(): RecordedRequest[];
  /** Faults for the next requests, one each, in order. */
  enqueue(...faults: Fault[]): void;
  /** The answer once the queue is empty (default 'ok'). */
  setDefault(fault: Fault): void;
  /** Resolves once `count` requests have arrived. */
  waitForRequests(count: number): Promise<void>;
  close(): Promise<void>;
}

const open = new Set<HttpReceiver>();
let baseline = { timers: 0, servers: 0 };

beforeEach(() => {
  baseline = activeResources();
});

afterEach(async () => {
  await Promise.all([...open].map((receiver) => receiver.close()));
  // A server or timer left behind (a retry sleep, a request timeout) fails the test.
  // server.close() may call back before libuv has released the listening handle: allow it a moment.
  for (let i = 0; i < 20 && activeResources().servers > baseline.servers; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  // Node's fetch (undici) keeps one internal timer ticking for up to a second after its last
  // connection closes; a leaked retry loop re-arms its timers and is still caught.
  for (let i = 0; i < 24 && activeResources().timers > baseline.timers; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const now = activeResources();
  expect(now.servers, 'servers still listening after the test').toBeLessThanOrEqual(baseline.servers);
  expect(now.timers, 'timers still pending after the test').toBeLessThanOrEqual(baseline.timers);
});

function activeResources(): { timers: number; servers: number } {
  const names = process.getActiveResourcesInfo();
  return {
    timers: names.filter((name) => name === 'Timeout').length,
    servers: names.filter((name) => name === 'TCPServerWrap').length,
  };
}

export async function startReceiver(): Promise<HttpReceiver> {
  const requests: RecordedRequest[] = [];
  const queue: Fault[] = [];
  let fallback: Fault = 'ok';
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const fault = queue.shift() ?? fallback;
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        outcome: typeof fault === 'string' ? fault : String(fault.status),
        at: performance.now(),
      });
      for (const waiter of waiters.filter((w) => requests.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      answer(fault, req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  const receiver: HttpReceiver = {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    delivered: () => requests.filter((r) => r.outcome === 'ok' || /^2\d\d$/.test(r.outcome)),
    enqueue: (...faults) => queue.push(...faults),
    setDefault: (fault) => {
      fallback = fault;
    },
    waitForRequests: (count) => (requests.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve }))),
    close: () => {
      closed ??= new Promise<void>((resolve, reject) => {
        open.delete(receiver);
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive and hanging connections would hold close() open.
        server.closeAllConnections();
      });
      return closed;
    },
  };
  open.add(receiver);
  return receiver;
}

function answer(fault: Fault, req: IncomingMessage, res: ServerResponse): void {
  switch (fault) {
    case 'ok':
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    case 'error500':
      res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
      return;
    case 'hang':
      return;
    case 'reset':
      req.socket.destroy();
      return;
    case 'retryAfter':
      res.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' }).end('slow down');
      return;
    case 'badRequest':
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":"bad request"}');
      return;
    default:
      res.writeHead(fault.status, fault.headers ?? {}).end(fault.body ?? '');
  }
}
