#!/usr/bin/env node
// The CLI entry: the only place that reads process.env, installs signal
// handlers and calls process.exit.
import { AuditeError } from '../errors.ts';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { buildProgram, CommanderError } from './program.ts';

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals += 1;
  if (signals === 1) {
    process.stderr.write(`audite: ${signal} received, shutting down (send again to force)\n`);
    controller.abort(new Error(`received ${signal}`));
  } else {
    process.stderr.write('audite: second signal, exiting now\n');
    process.exit(EXIT.FATAL);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

// kafkajs 2.2.4 sets a negative timeout once per process, which Node 24 reports as a
// TimeoutNegativeWarning: harmless, and confusing to an operator. Other warnings print as usual.
process.removeAllListeners('warning');
process.on('warning', (warning) => {
  if (warning.name !== 'TimeoutNegativeWarning') process.stderr.write(`audite: warning: ${warning.name}: ${warning.message}\n`);
});

const program = buildProgram({ stdout: process.stdout, stderr: process.stderr, env: process.env, shutdown: controller.signal });
try {
  await program.parseAsync(process.argv);
  process.exitCode = EXIT.OK;
} catch (error) {
  process.exitCode = handle(error);
}
// Let stdout drain, then leave even if a library left a handle open; a reader that
// stopped reading (a stalled pipe) must not keep a stopped relay alive for ever.
process.stdout.write('', () => process.exit());
setTimeout(() => process.exit(), 2000).unref();

function handle(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.OK;
    return EXIT.USAGE;
  }
  if (error instanceof AuditeError) {
    process.stderr.write(`audite: ${error.message}\n`);
    return exitCodeFor(error.code);
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`audite: unexpected error: ${message.split('\n')[0]}\n`);
  if (process.env.AUDITE_DEBUG) process.stderr.write(`${error instanceof Error ? error.stack : ''}\n`);
  return EXIT.SOFTWARE;
}
