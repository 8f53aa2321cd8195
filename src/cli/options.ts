import { Option } from 'commander';
import { AuditeError } from '../errors.ts';
import { DEFAULT_BUSY_TIMEOUT_MS } from '../sqlite/open-database.ts';

export function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function busyTimeoutOption(): Option {
  return new Option('--busy-timeout <ms>', `how long to wait for another writer's lock (default ${DEFAULT_BUSY_TIMEOUT_MS})`);
}

export function parseBusyTimeout(value: string | undefined): number {
  if (value === undefined) return DEFAULT_BUSY_TIMEOUT_MS;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 0)
    throw new AuditeError('INVALID_ARGUMENT', `--busy-timeout must be a whole number of milliseconds, got ${JSON.stringify(value)}`);
  return ms;
}
