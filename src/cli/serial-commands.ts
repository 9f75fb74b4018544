import type { Command } from 'commander';

/** `imprint serial …` subcommands (filled in by the serial work). */
export function registerSerialCommands(_program: Command): void {}
