import type { SnapshotProgress } from '../capture/snapshot.ts';

export interface ProgressReporter {
  update(progress: SnapshotProgress): void;
  /** Ends the TTY line. */
  finish(): void;
}

export interface ProgressOptions {
  stream: NodeJS.WritableStream;
  /** One line redrawn in place (a terminal), or a line every `logEveryMs` (logs, CI). */
  tty: boolean;
  logEveryMs?: number;
  now?: () => number;
}

const TTY_REDRAW_MS = 100;

/** A progress line on a TTY (no dependency: \r and erase-line), periodic plain lines otherwise. */
export function createProgressReporter(options: ProgressOptions): ProgressReporter {
  const now = options.now ?? Date.now;
  const started = now();
  let lastDraw = Number.NEGATIVE_INFINITY;
  let drawn = false;
  const every = options.tty ? TTY_REDRAW_MS : (options.logEveryMs ?? 5000);
  return {
    update(progress) {
      const at = now();
      if (!progress.done && at - lastDraw < every) return;
      lastDraw = at;
      const line = describe(progress, progress.emitted / Math.max(0.001, (at - started) / 1000));
      if (options.tty) {
        options.stream.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else options.stream.write(`${line}\n`);
    },
    finish() {
      if (options.tty && drawn) options.stream.write('\n');
      drawn = false;
    },
  };
}

export function describe(p: SnapshotProgress, rowsPerSecond: number): string {
  const n = (x: number): string => Math.round(x).toLocaleString('en-US');
  const percent = p.total === 0 ? 100 : Math.min(100, Math.floor((p.rows / p.total) * 100));
  const left = Math.max(0, p.total - p.rows);
  const eta = rowsPerSecond > 0 && !p.done ? `, ETA ${duration(left / rowsPerSecond)}` : '';
  const table = p.tableCount > 1 ? `${p.table} (${p.tableIndex + 1}/${p.tableCount})` : p.table;
  return `snapshot ${table}: ${n(p.rows)} / ~${n(p.total)} rows (${percent}%), ${n(rowsPerSecond)} rows/s${eta}${p.done ? ', done' : ''}`;
}

function duration(seconds: number): string {
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}
