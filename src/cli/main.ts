// The `imprint` command line. Each area registers its own subcommands.
import { Command } from 'commander';
import { describeError } from '../common/errors.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerPairingCommands } from './pairing-commands.ts';
import { registerSerialCommands } from './serial-commands.ts';
import { registerStationCommands } from './station-commands.ts';
import { registerSyncCommands } from './sync-commands.ts';
import { registerWebCommands } from './web-commands.ts';

// Everything the station and the core create is private to its owner (0700 folders, 0600 files).
process.umask(0o077);

const program = new Command('imprint')
  .description('Imprint: factory registration station for Astarte-compatible pairing')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)');

registerPairingCommands(program);
registerSerialCommands(program);
registerStationCommands(program);
registerAuditCommands(program);
registerWebCommands(program);
registerSyncCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // One line, no stack trace, non-zero exit: what a script or an operator can act on.
  console.error(`imprint: ${describeError(e)}`);
  process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
}
