import { afterEach, expect } from 'vitest';
import type { Logger } from '../../src/relay/logger.ts';
import { startRelay, type Relay } from '../../src/relay/relay.ts';
import { memoryStream, testConfig } from '../support/relay.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition format 0.0.4: `name{label="value",…} number`, comments and blank lines skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (match === null) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = (pair[2] as string).replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const raw = match[3] as string;
    samples.push({ name: match[1] as string, labels, value: raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw) });
  }
  return samples;
}

/** The value of one series; undefined when absent. */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

export function opsUrl(relay: Relay, path: string): string {
  const server = relay.ops?.server;
  if (server === undefined) throw new Error('relay has no ops server; set ops.port');
  return `http://${server.host}:${server.port}${path}`;
}

export async function scrape(relay: Relay): Promise<Sample[]> {
  const response = await fetch(opsUrl(relay, '/metrics'));
  if (response.status !== 200) throw new Error(`/metrics answered ${response.status}`);
  return parseMetrics(await response.text());
}

export async function readyz(relay: Relay): Promise<{ status: number; body: { ready: boolean; reasons: string[] } }> {
  const response = await fetch(opsUrl(relay, '/readyz'));
  return { status: response.status, body: (await response.json()) as { ready: boolean; reasons: string[] } };
}

export interface LogLine {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: object;
}

/** A logger that keeps every line, for assertions on warnings. */
export function memoryLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (bindings: object): Logger => ({
    debug: (fields, msg = '') => lines.push({ level: 'debug', msg, fields: { ...bindings, ...fields } }),
    info: (fields, msg = '') => lines.push({ level: 'info', msg, fields: { ...bindings, ...fields } }),
    warn: (fields, msg = '') => lines.push({ level: 'warn', msg, fields: { ...bindings, ...fields } }),
    error: (fields, msg = '') => lines.push({ level: 'error', msg, fields: { ...bindings, ...fields } }),
    child: (more) => make({ ...bindings, ...more }),
  });
  return Object.assign(make({}), { lines });
}

const running = new Set<Relay>();

afterEach(async () => {
  const leaked = [...running];
  running.clear();
  await Promise.all(leaked.map((r) => r.stop()));
  expect(leaked.length, 'relay(s) left running after the test').toBe(0);
});

/** runRelay with a logger of the test's choosing; the same leak check applies. */
export async function runRelayLogged(input: Record<string, unknown>, logger: Logger): Promise<Relay> {
  const relay = await startRelay(testConfig(input), { logger, env: {}, stdout: memoryStream().stream });
  running.add(relay);
  const stop = relay.stop;
  return {
    ...relay,
    stop: async () => {
      running.delete(relay);
      await stop();
    },
  };
}
