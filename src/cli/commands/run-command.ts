import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.ts';
import type { CliIo } from '../io.ts';
import { runRelayUntilSignal } from '../run-relay.ts';

interface RunFlags {
  config?: string;
  httpUrl?: string;
  httpMode?: string;
  batchSize?: string;
  pollInterval?: string;
  startFrom?: string;
  sourceTemplate?: string;
  logLevel?: string;
  opsPort?: string;
  retention?: string;
  autoRefresh?: boolean;
  schema?: string;
}

export function registerRun(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('relay the change feed to the configured sinks (default: stdout) until SIGTERM/SIGINT')
    .argument('[db]', 'SQLite database or postgres:// URL (or `database` in the config / AUDITE_DATABASE)')
    .option('-c, --config <file>', 'YAML or JSON config file (or AUDITE_CONFIG)')
    .option('--http-url <url>', 'relay to this HTTP endpoint instead of the configured sinks')
    .option('--http-mode <mode>', 'binary | structured | batch (with --http-url)')
    .option('--batch-size <n>', 'events per batch')
    .option('--poll-interval <ms>', 'how often an idle consumer checks for new commits')
    .option('--start-from <where>', 'beginning | end: where a new consumer starts')
    .option('--source-template <template>', 'CloudEvents source, e.g. sqlite://billing/{table}')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent')
    .option('--ops-port <port>', 'serve /healthz, /readyz and /metrics on 127.0.0.1:<port>')
    .option('--retention <window>', 'prune acknowledged events older than this (e.g. 7d; default forever)')
    .option('--auto-refresh', 'rebuild stale capture triggers when the schema changes, as `audite enable` would')
    .option('--schema <name>', "PostgreSQL: the schema audite's tables live in (default audite)")
    .action(async (db: string | undefined, flags: RunFlags) => {
      const config = loadConfig({ file: flags.config ?? io.env.AUDITE_CONFIG, env: io.env, flags: runFlagsToLayer(db, flags) });
      await runRelayUntilSignal(config, io);
    });
}

/** Flags as a partial config; zod validates them with everything else. */
export function runFlagsToLayer(db: string | undefined, flags: RunFlags): Record<string, unknown> {
  const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
  return {
    database: db,
    source: {
      batchSize: num(flags.batchSize),
      pollIntervalMs: num(flags.pollInterval),
      startFrom: flags.startFrom,
      postgres: { schema: flags.schema },
    },
    cloudevents: { source: flags.sourceTemplate },
    log: { level: flags.logLevel },
    ops: { port: num(flags.opsPort) },
    retention: { keep: flags.retention },
    schema: { autoRefresh: flags.autoRefresh },
    sinks: flags.httpUrl === undefined ? undefined : [{ type: 'http', name: 'http', url: flags.httpUrl, mode: flags.httpMode }],
  };
}
