import { Command, CommanderError } from 'commander';
import { registerDisable } from './commands/disable-command.ts';
import { registerEnable } from './commands/enable-command.ts';
import { registerHistory } from './commands/history-command.ts';
import { registerRestore } from './commands/restore-command.ts';
import { registerShow } from './commands/show-command.ts';
import { registerStatus } from './commands/status-command.ts';
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
  registerHistory(program, io);
  registerShow(program, io);
  registerRestore(program, io);
  for (const command of program.commands) command.exitOverride();
  return program;
}

export { CommanderError };
