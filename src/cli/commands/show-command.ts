import type { Command } from 'commander';
import type { CliIo } from '../io.ts';

// Filled in by the audit work (issue 5).
export function registerShow(_program: Command, _io: CliIo): void {}
