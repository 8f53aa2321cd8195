import { spawn, type ChildProcess } from 'node:child_process';

/** A Node child (a daemon, a writer) whose stderr is passed through, labelled, for diagnosis. */
export function spawnNode(args: string[]): ChildProcess {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  child.stderr?.on('data', (d: Buffer) => process.stderr.write(`[child ${child.pid}] ${d.toString()}`));
  return child;
}

export async function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((resolve) => child.once('exit', resolve));
}
