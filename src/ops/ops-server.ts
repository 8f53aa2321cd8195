import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AuditeError } from '../errors.ts';
import type { Readiness } from './readiness.ts';

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  readiness: () => Promise<Readiness>;
  /** Prometheus text and its content type. */
  metrics: () => Promise<{ contentType: string; text: string }>;
}

export interface OpsServer {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * /healthz: the process is alive and its event loop answers.
 * /readyz:  200 or 503, with a JSON body saying why.
 * /metrics: Prometheus text format.
 * GET and HEAD only; bound to 127.0.0.1 unless configured otherwise.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server = createServer((req, res) => {
    void route(req, res, options).catch(() => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  });
  // Scrapers hold connections open; never let one keep the daemon from exiting.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (cause) =>
      reject(
        new AuditeError('CONFIG_INVALID', `cannot serve ops endpoint on ${options.host}:${options.port}: ${(cause as NodeJS.ErrnoException).code ?? 'error'}`, {
          cause,
        }),
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closed: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

async function route(req: IncomingMessage, res: ServerResponse, options: OpsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
    return;
  }
  switch (path) {
    case '/healthz':
      json(res, 200, { status: 'ok' });
      return;
    case '/readyz': {
      const readiness = await options.readiness();
      json(res, readiness.ready ? 200 : 503, readiness);
      return;
    }
    case '/metrics': {
      const { contentType, text } = await options.metrics();
      res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    default:
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /healthz, /readyz or /metrics\n');
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(body)}\n`);
}
