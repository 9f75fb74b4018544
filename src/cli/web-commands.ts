import { type Command, Option } from 'commander';
import { buildElectronShell, findElectronBinary, runElectron } from '../api/electron-launcher.ts';
import { ADMIN_PIN_ENV, OperatorAuth } from '../api/operator-auth.ts';
import { ParentSecretStore } from '../api/parent-secret-store.ts';
import { ensureRendererBuilt } from '../api/renderer-build.ts';
import type { SimulationOptions } from '../api/station-service.ts';
import { startWebMode } from '../api/web-mode.ts';
import { WEB_HOST } from '../api/web-server.ts';
import { CommonError } from '../common/common-errors.ts';
import { listenFailure } from '../common/listen-errors.ts';
import { createLogger } from '../common/logger.ts';
import { SIMULATED_FAULTS, type SimulatedFault } from '../station/simulated-line.ts';
import { DATA_HELP, resolveDataDir } from './data-dir.ts';

const DEFAULT_PORT = 4173;

interface WebOpts {
  port?: string;
  data?: string;
  simulate?: string;
  faultRate?: string;
  faults?: string;
  pty?: boolean;
  electronChild?: boolean;
  newToken?: boolean;
}

function intOption(value: string | undefined, name: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new CommonError('INVALID_ARGUMENT', `--${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** --simulate N (and its fault options); default fault rate 10% so a new user also sees a FAIL. */
function simulation(opts: WebOpts): SimulationOptions | undefined {
  const fixtures = intOption(opts.simulate, 'simulate', 1, 32);
  if (fixtures === undefined) return undefined;
  const faultRate = opts.faultRate === undefined ? 0.1 : Number(opts.faultRate);
  if (!(faultRate >= 0 && faultRate <= 1)) throw new CommonError('INVALID_ARGUMENT', '--fault-rate must be between 0 and 1');
  const faults = (opts.faults?.split(',').map((f) => f.trim()) ?? ['label-swap', 'pre-written']) as SimulatedFault[];
  const unknown = faults.filter((f) => !SIMULATED_FAULTS.includes(f));
  if (unknown.length)
    throw new CommonError('INVALID_ARGUMENT', `--faults: unknown ${unknown.join(', ')} (known: ${SIMULATED_FAULTS.join(', ')})`);
  return { fixtures, faultRate, faults, pty: opts.pty };
}

async function runWeb(opts: WebOpts): Promise<void> {
  // Quiet by default: the console shows the URL; IMPRINT_LOG_LEVEL=info for more.
  const logger = createLogger({ name: 'imprint-web', level: process.env.IMPRINT_LOG_LEVEL ?? 'warn' });
  const data = resolveDataDir(opts);
  const chosen = intOption(opts.port, 'port', 0, 65535);
  const child = opts.electronChild && process.send !== undefined;
  if (!child) await ensureRendererBuilt({ log: (l) => console.log(l) });
  const port = chosen ?? (child ? 0 : DEFAULT_PORT);
  const mode = await startWebMode({
    dataDir: data,
    port,
    // The default port is taken (another station?): any free port will do.
    anyPortIfTaken: chosen === undefined,
    simulate: simulation(opts),
    secrets: child ? new ParentSecretStore() : undefined,
    newToken: opts.newToken,
    logger,
  }).catch((e: unknown) => {
    throw listenFailure(e, { host: WEB_HOST, port, portOption: '--port' }) ?? e;
  });
  if (mode.adminPin.newPin) {
    // Printed in both modes: `npm start` shows it in its terminal even when the desktop app opens.
    console.log(`First start: the admin PIN is ${mode.adminPin.newPin} (shown once; stored hashed in ${data}).`);
    console.log('  Change it with `imprint admin-pin --reset`, or set IMPRINT_ADMIN_PIN.');
  }
  if (child) {
    // The desktop shell gets the URL and token over its private IPC channel: nothing printed.
    process.send?.({ type: 'ready', url: mode.web.url, token: mode.web.token });
  } else {
    const status = await mode.service.getStatus();
    if (status.simulated) console.log('SIMULATED line: no fixture port is configured, devices are simulated.');
    console.log(`Imprint is running. Open: ${mode.web.openUrl}`);
    console.log('Press Ctrl+C to stop.');
  }
  await new Promise<void>((done) => {
    const stop = () => done();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.once('disconnect', stop);
  });
  await mode.close();
}

export function registerWebCommands(program: Command): void {
  const simulateOptions = (cmd: Command) =>
    cmd
      .option('--data <dir>', DATA_HELP)
      .option('--simulate <n>', 'run a simulated line of N fixtures (default when no fixture port is configured: 2)')
      .option('--fault-rate <r>', 'share of simulated devices with a fault, 0..1 (default 0.1)')
      .option('--faults <list>', `simulated faults, comma-separated (${SIMULATED_FAULTS.join(', ')})`)
      .option('--pty', 'simulated devices on PTYs through socat instead of in-process streams');

  simulateOptions(
    program
      .command('web')
      .description('serve the Imprint UI and station API on 127.0.0.1 (prints the URL with its session token)')
      .option('--port <port>', 'port on 127.0.0.1 (default 4173; 0 picks a free one)')
      .option('--new-token', 'replace the session token kept in the data folder (open pages must take the new address)'),
  )
    .addOption(new Option('--electron-child', "run as the desktop shell's core (URL and token over IPC)").hideHelp())
    .action((opts: WebOpts) => runWeb(opts));

  simulateOptions(
    program
      .command('start')
      .description('start Imprint: the desktop app when Electron is available, else web mode (what `npm start` runs)')
      .option('--port <port>', 'port for web mode (default 4173)')
      .option('--web', 'web mode even when Electron is available'),
  ).action(async (opts: WebOpts & { web?: boolean }) => {
    const electron = opts.web ? { missing: 'web mode requested' } : findElectronBinary();
    if ('path' in electron) {
      await ensureRendererBuilt({ log: (l) => console.log(l) });
      await buildElectronShell();
      const env: NodeJS.ProcessEnv = { IMPRINT_DATA: resolveDataDir(opts) };
      if (opts.simulate) env.IMPRINT_SIMULATE = opts.simulate;
      process.exitCode = await runElectron(electron.path, env);
      return;
    }
    console.log(`Electron is not available (${electron.missing}), so Imprint starts in web mode instead.`);
    await runWeb(opts);
  });

  program
    .command('admin-pin')
    .description(`set a new random admin PIN for the station (printed once); or use ${ADMIN_PIN_ENV}`)
    .option('--data <dir>', DATA_HELP)
    .requiredOption('--reset', 'make a new PIN, replacing the old one')
    .action((opts: { data?: string }) => {
      const pin = OperatorAuth.reset(resolveDataDir(opts));
      console.log(`New admin PIN: ${pin} (shown once; stored hashed). Restart the station to use it.`);
    });
}
