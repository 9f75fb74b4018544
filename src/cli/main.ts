// The `imprint` command line. Each area registers its own subcommands; only the one the command
// line names is loaded (src/cli/command-areas.ts). Every error ends here: one line and what to do
// (or one JSON object with --json), and the exit code its code maps to (src/cli/exit-codes.ts).
import { Command } from 'commander';
import { AREAS, areaOf } from './command-areas.ts';
import { EXIT } from './exit-codes.ts';
import { reportError, usageErrorWriter, wantsJson } from './report-error.ts';

// Everything the station and the core create is private to its owner (0700 folders, 0600 files).
process.umask(0o077);

const json = wantsJson(process.argv);
const program = new Command('imprint')
  .description('Imprint: factory registration station for Astarte-compatible pairing')
  .version('0.1.0')
  .showHelpAfterError(json ? false : '(run with --help for usage)')
  .configureOutput({ outputError: usageErrorWriter(json) })
  // Every usage error exits 2, in every command (subcommands inherit this): help and --version exit 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? EXIT.OK : EXIT.USAGE));

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
  reportError(e, json);
}
