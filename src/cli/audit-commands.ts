import type { Command } from 'commander';

/** `imprint audit …` subcommands (filled in by the audit work). */
export function registerAuditCommands(_program: Command): void {}
