import type { Command } from 'commander';

/** `imprint station …` subcommands (filled in by the station work). */
export function registerStationCommands(_program: Command): void {}
