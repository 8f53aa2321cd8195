// Who uses the test broker on a port, so that a test run stops only a broker it
// started itself, and never one that another run (a second `vitest` on the same
// machine, a developer's `npm run kafka`) is still using.
//
// A run is its vitest main process (the pid global-setup.ts provides). Its files,
// in the OS temp dir, under audite-kafka-users-<port>/:
//   <pid>          the run uses the broker
//   <pid>.started  the run found no broker and started one
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function defaultKafkaPort(): number {
  return Number(process.env.AUDITE_KAFKA_PORT ?? 19092);
}

function dir(port: number): string {
  const path = join(tmpdir(), `audite-kafka-users-${port}`);
  mkdirSync(path, { recursive: true });
  return path;
}

export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function registerUser(port: number, run: string, started: boolean): void {
  writeFileSync(join(dir(port), run), '');
  if (started) writeFileSync(join(dir(port), `${run}.started`), '');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Unregisters `run`; true when it should stop the broker: it started it, and
 * no other live run uses it. If others still do, the last of them stops it.
 */
export function leave(port: number, run: string): boolean {
  const path = dir(port);
  const files = readdirSync(path);
  const started = files.includes(`${run}.started`);
  rmSync(join(path, run), { force: true });
  rmSync(join(path, `${run}.started`), { force: true });
  const others = files.filter((f) => /^\d+$/.test(f) && f !== run && alive(Number(f)));
  if (started && others[0] !== undefined) writeFileSync(join(path, `${others[0]}.started`), '');
  return started && others.length === 0;
}
