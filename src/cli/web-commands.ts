import type { Command } from 'commander';

/** `imprint web …` subcommands (filled in by the web work). */
export function registerWebCommands(_program: Command): void {}
