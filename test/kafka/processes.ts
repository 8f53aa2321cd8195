// Child processes for the Kafka fault tests: the daemon (the real CLI) and the writer app.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/cli.ts';
import type { ConsumedRecord } from './support.ts';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const WRITER = join(REPO_ROOT, 'test', 'support', 'writer-process.ts');

/** The tables test/support/writer-process.ts writes to. */
export const WRITER_DDL =
  'CREATE TABLE account (id INTEGER PRIMARY KEY, v); CREATE TABLE invoice (id INTEGER PRIMARY KEY, v); CREATE TABLE note (id INTEGER PRIMARY KEY, v);';

export interface Child {
  process: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
}

export function spawnNode(args: string[], echo = false): Child {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let text = '';
  child.stderr?.on('data', (d: Buffer) => {
    text += d.toString();
    if (echo) process.stderr.write(`[child ${child.pid}] ${d.toString()}`);
  });
  return { process: child, stderr: () => text };
}

export function spawnWriter(file: string, intervalMs: number): Child {
  return spawnNode([WRITER, file, String(intervalMs)], true);
}

/** `audite run --config <file>` with one Kafka sink named "kafka". */
export function spawnDaemon(configFile: string, config: Record<string, unknown>): Child {
  writeFileSync(configFile, JSON.stringify(config));
  return spawnNode([MAIN, 'run', '--config', configFile]);
}

export async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}

export interface DeliveryCheck {
  /** Feed ids never seen in Kafka. */
  missing: number[];
  /** Partitions whose first deliveries are not in feed order. */
  outOfOrder: string[];
  duplicates: number;
}

/**
 * At-least-once with per-key order: every feed id arrived; in every partition
 * (hence for every key) the first delivery of each event follows feed order.
 * Redeliveries may repeat a stretch of events; they never reorder first arrivals.
 */
export function checkDeliveries(feedIds: readonly number[], records: readonly ConsumedRecord[]): DeliveryCheck {
  const seen = new Set<number>();
  const byPartition = new Map<string, ConsumedRecord[]>();
  for (const r of records) {
    const key = `${r.topic}/${r.partition}`;
    byPartition.set(key, [...(byPartition.get(key) ?? []), r]);
  }
  const outOfOrder: string[] = [];
  for (const [partition, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    let last = 0;
    const firsts = new Set<number>();
    for (const r of list) {
      const id = Number(r.headers.ce_id);
      if (firsts.has(id)) continue;
      firsts.add(id);
      if (id < last) outOfOrder.push(`${partition}: ${id} after ${last}`);
      last = id;
    }
    for (const id of firsts) seen.add(id);
  }
  return { missing: feedIds.filter((id) => !seen.has(id)), outOfOrder, duplicates: records.length - seen.size };
}
