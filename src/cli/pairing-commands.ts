import type { Command } from 'commander';

/** `imprint pairing …` subcommands (filled in by the pairing work). */
export function registerPairingCommands(_program: Command): void {}
