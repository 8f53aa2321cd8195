import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
