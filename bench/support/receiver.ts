// A bare HTTP receiver in its own process, so it never competes with the relay's event loop.
// GET /stats → { requests, bytes, latencies? }. With LATENCY=1 it reads `ts` (ms) from each
// event's data.new and records now - ts: commit-to-delivered latency.
import { createServer } from 'node:http';

const latencyMode = process.env.LATENCY === '1';
let requests = 0;
let bytes = 0;
const latencies: number[] = [];

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ requests, bytes, latencies }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    requests += 1;
    const body = Buffer.concat(chunks);
    bytes += body.length;
    if (latencyMode) {
      const now = Date.now();
      for (const match of body.toString('utf8').matchAll(/"ts":(\d+)/g)) latencies.push(now - Number(match[1]));
    }
    res.statusCode = 204;
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (address && typeof address === 'object') process.stdout.write(`${address.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
