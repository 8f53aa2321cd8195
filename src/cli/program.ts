import { Command, CommanderError } from 'commander';
import { registerCursor } from './commands/cursor-command.ts';
import { registerDeadLetter } from './commands/deadletter-command.ts';
import { registerDemo } from './commands/demo-command.ts';
import { registerDisable } from './commands/disable-command.ts';
import { registerEnable } from './commands/enable-command.ts';
import { registerHistory } from './commands/history-command.ts';
import { registerPrune } from './commands/prune-command.ts';
import { registerRestore } from './commands/restore-command.ts';
import { registerRun } from './commands/run-command.ts';
import { registerShow } from './commands/show-command.ts';
import { registerSnapshot } from './commands/snapshot-command.ts';
import { registerStatus } from './commands/status-command.ts';
import { registerTail } from './commands/tail-command.ts';
import type { CliIo } from './io.ts';

export const VERSION = '0.1.0';

export function buildProgram(io: CliIo): Command {
  const program = new Command('audite')
    .description('Change-data-capture for SQLite: a transactional change feed, relayed as CloudEvents')
    .version(VERSION)
    .showHelpAfterError('(run `audite --help` for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  registerEnable(program, io);
  registerDisable(program, io);
  registerStatus(program, io);
  registerRun(program, io);
  registerPrune(program, io);
  registerSnapshot(program, io);
  registerTail(program, io);
  registerCursor(program, io);
  registerDeadLetter(program, io);
  registerDemo(program, io);
  registerHistory(program, io);
  registerShow(program, io);
  registerRestore(program, io);
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  program.commands.forEach(override);
  return program;
}

export { CommanderError };
