import type { Config } from '../config/config-schema.ts';
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
