import { createWriteStream } from 'node:fs';
import { AuditeError } from '../errors.ts';
import { envelope } from '../events/http-binding.ts';
import type { Sink, SinkHealth } from './sink.ts';

/**
 * Writes each event as one line of structured-mode CloudEvent JSON (the same
 * envelope the HTTP structured binding sends, so `data` is the raw text and
 * big integers stay exact). publish resolves once the stream has accepted the
 * last line (its write callback: for a file, handed to the OS), waiting for
 * 'drain' whenever the stream asks for it.
 *
 * A write error is not retried: a stream that failed (EPIPE, disk full) stays
 * failed. publish rejects with SINK_UNAVAILABLE and health turns not ready.
 */

export interface StreamSinkOptions {
  stream: NodeJS.WritableStream;
  /** End the stream on close() (for streams the sink owns, such as files; not stdout). */
  close?: boolean;
  /** Sink.kind; default 'stdout'. */
  kind?: string;
}

// Lines are coalesced into writes of about this size: fewer syscalls, bounded memory.
const CHUNK_CHARS = 64 * 1024;

export function createStreamSink(options: StreamSinkOptions): Sink {
  const { stream } = options;
  let health: SinkHealth = { ready: true };
  let streamError: Error | undefined;

  // Without a listener an 'error' event would crash the process.
  const onError = (error: Error): void => {
    streamError ??= error;
    health = { ready: false, reason: `write failed: ${errorCode(error)}` };
  };
  stream.on('error', onError);

  function failure(error: unknown): AuditeError {
    const cause = error ?? streamError;
    health = { ready: false, reason: `write failed: ${errorCode(cause)}` };
    return new AuditeError('SINK_UNAVAILABLE', `${options.kind ?? 'stdout'} sink write failed`, { cause });
  }

  function write(chunk: string, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      let needsDrain = false;
      let written = false;
      let settled = false;
      const cleanup = (): void => {
        settled = true;
        stream.removeListener('drain', onDrain);
        stream.removeListener('error', onWriteError);
        signal.removeEventListener('abort', onAbort);
      };
      const settle = (error?: unknown): void => {
        if (settled) return;
        if (error !== undefined) {
          cleanup();
          reject(error);
        } else if (written && !needsDrain) {
          cleanup();
          resolve();
        }
      };
      const onDrain = (): void => {
        needsDrain = false;
        settle();
      };
      const onWriteError = (error: Error): void => settle(failure(error));
      const onAbort = (): void => settle(signal.reason);
      stream.on('error', onWriteError);
      signal.addEventListener('abort', onAbort, { once: true });
      const ok = stream.write(chunk, (error) => {
        if (error) {
          settle(failure(error));
        } else {
          written = true;
          settle();
        }
      });
      if (!ok) {
        needsDrain = true;
        stream.once('drain', onDrain);
      }
    });
  }

  return {
    kind: options.kind ?? 'stdout',
    async publish(events, signal) {
      signal.throwIfAborted();
      if (streamError !== undefined) throw failure(streamError);
      let chunk = '';
      for (const event of events) {
        chunk += envelope(event) + '\n';
        if (chunk.length >= CHUNK_CHARS) {
          await write(chunk, signal);
          chunk = '';
        }
      }
      if (chunk !== '') await write(chunk, signal);
      health = { ready: true };
    },
    health: () => health,
    async close() {
      // A failed stream has nothing left to flush, and may never call back.
      if (options.close === true && streamError === undefined) {
        await new Promise<void>((resolve) => stream.end(() => resolve()));
      }
      stream.removeListener('error', onError);
    },
  };
}

/** Appends to a file (created if missing). An open failure surfaces on the first publish and in health(). */
export function createFileSink(path: string): Sink {
  return createStreamSink({ stream: createWriteStream(path, { flags: 'a' }), close: true, kind: 'file' });
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : 'unknown error';
}
