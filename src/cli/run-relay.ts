import type { Config } from '../config/config-schema.ts';
import { loadConfig } from '../config/load-config.ts';
import { AuditeError } from '../errors.ts';
import { createLogger, type Logger } from '../relay/logger.ts';
import { startRelay } from '../relay/relay.ts';
import type { CliIo } from './io.ts';

export function cliLogger(config: Config, io: CliIo): Logger {
  const isTty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  const pretty = config.log.pretty === 'always' || (config.log.pretty === 'auto' && isTty);
  return createLogger({ level: config.log.level, pretty, destination: io.stderr });
}

/** Runs the relay until a shutdown signal, or until every consumer is halted. */
export async function runRelayUntilSignal(config: Config, io: CliIo, logger: Logger = cliLogger(config, io)): Promise<void> {
  const relay = await startRelay(config, { logger, env: io.env, stdout: io.stdout });
  const onShutdown = (): void => void relay.stop();
  io.shutdown.addEventListener('abort', onShutdown, { once: true });
  if (io.shutdown.aborted) onShutdown();
  try {
    const outcomes = await relay.done;
    await relay.stop();
    if (outcomes.length > 0 && outcomes.every((o) => o === 'halted')) {
      throw new AuditeError(
        'SINK_PERMANENT',
        'every consumer is halted; see `audite status` for the last error, then, with the daemon stopped, `audite cursor reset`',
      );
    }
  } finally {
    io.shutdown.removeEventListener('abort', onShutdown);
    await relay.stop();
  }
}

/** `--schema` for the commands that open the feed without a config file; AUDITE_SOURCE__POSTGRES__SCHEMA applies too. */
export const PG_SCHEMA_FLAG = ['--schema <name>', "PostgreSQL: the schema audite's tables live in (default audite)"] as const;

/** The configuration of a feed command given only a database (and flags): environment and defaults fill the rest. */
export function feedConfig(io: CliIo, database: string, flags: { schema?: string | undefined; busyTimeoutMs?: number | undefined } = {}): Config {
  return loadConfig({ env: io.env, flags: { database, source: { postgres: { schema: flags.schema }, busyTimeoutMs: flags.busyTimeoutMs } } });
}
