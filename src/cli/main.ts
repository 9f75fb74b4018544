// The `imprint` command line. Each area registers its own subcommands; only the one the command
// line names is loaded (src/cli/command-areas.ts).
import { Command } from 'commander';
import { describeError } from '../common/errors.ts';
import { AREAS, areaOf } from './command-areas.ts';

// Everything the station and the core create is private to its owner (0700 folders, 0600 files).
process.umask(0o077);

const program = new Command('imprint')
  .description('Imprint: factory registration station for Astarte-compatible pairing')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  // Every usage error exits 2, in every command (subcommands inherit this): help and --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

const area = areaOf(process.argv);
if (area) {
  (await area.load())(program);
} else {
  // Help, a version query or an unknown command: list every area without loading any.
  for (const a of AREAS)
    for (const [name, description] of Object.entries(a.commands)) program.command(name).description(description);
}

try {
  await program.parseAsync(process.argv);
} catch (e) {
  // One line, no stack trace, non-zero exit: what a script or an operator can act on.
  console.error(`imprint: ${describeError(e)}`);
  process.exitCode = process.exitCode && process.exitCode !== 0 ? process.exitCode : 1;
}
