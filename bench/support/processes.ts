import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

export function startNode(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
}

/** Runs bin/audite.js as an executable, as `npx audite` does, so its shebang's heap bounds apply. */
export function startAudite(args: string[]): ChildProcess {
  return spawn(join(REPO, 'bin', 'audite.js'), args, { stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
}

export async function startReceiver(
  env: Record<string, string> = {},
): Promise<{ url: string; child: ChildProcess; stats: () => Promise<{ requests: number; bytes: number; latencies: number[] }> }> {
  const child = startNode([join(REPO, 'bench', 'support', 'receiver.ts')], env);
  const port = await new Promise<string>((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const url = `http://127.0.0.1:${port}/`;
  return { url, child, stats: async () => (await (await fetch(url)).json()) as { requests: number; bytes: number; latencies: number[] } };
}

/** Peak resident set size (VmHWM) of a live process, in MB. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export interface Drain {
  eventsPerSecond: number;
  seconds: number;
  peakMb: number;
}

/** Reads a consumer's cursor position (0 before its first checkpoint). */
export type CursorProbe = { position: () => Promise<number> | number; close: () => Promise<void> | void };

/** The cursor of `consumer` in a SQLite database's audite_cursor. */
export function sqliteCursor(file: string, consumer: string): CursorProbe {
  const reader = new Database(file, { readonly: true });
  const cursor = reader.prepare('SELECT position FROM audite_cursor WHERE consumer = ?').pluck().bind(consumer);
  return { position: () => (cursor.get() as number | undefined) ?? 0, close: () => void reader.close() };
}

/**
 * Waits until a running relay's cursor reaches `n`, then stops it. The drain is
 * timed from the first checkpoint (start-up excluded) and the relay's peak RSS
 * sampled throughout.
 */
export async function watchDrain(child: ChildProcess, probe: CursorProbe, n: number): Promise<Drain> {
  let first: { at: number; position: number } | undefined;
  let peakMb = 0;
  try {
    for (;;) {
      const position = await probe.position();
      if (first === undefined && position > 0) first = { at: performance.now(), position };
      peakMb = Math.max(peakMb, peakRssMb(child.pid as number));
      if (position >= n) break;
      if (child.exitCode !== null) throw new Error(`the relay exited (${child.exitCode}) at position ${position}`);
      await sleep(20);
    }
  } finally {
    await probe.close();
    await stop(child);
  }
  const seconds = (performance.now() - (first?.at ?? 0)) / 1000;
  return { eventsPerSecond: (n - (first?.position ?? 0)) / seconds, seconds, peakMb };
}
