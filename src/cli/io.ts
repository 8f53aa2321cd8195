/** What a command may touch of the outside world; main.ts passes the real process's. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream;
  env: Readonly<Record<string, string | undefined>>;
  /** Fires on SIGINT/SIGTERM; a second signal is handled by main.ts. */
  shutdown: AbortSignal;
}

export function print(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(`${line}\n`);
}
