// How the desktop shell is asked to run (command line and environment) and how it starts the
// station core. Plain functions, no Electron: unit-tested as they are.
import { join } from 'node:path';

export interface ShellOptions {
  /** Full screen, no menu, no window frame: a line PC that shows Imprint only. */
  kiosk: boolean;
  /** Where the station keeps its data: --data, else IMPRINT_DATA, else the app's userData. */
  dataDir: string;
  /** --simulate N or IMPRINT_SIMULATE: a simulated line of N fixtures. */
  simulate?: string;
}

/** `--name value` or `--name=value` (Electron and Chromium switches pass through untouched). */
function argValue(argv: readonly string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}

const TRUE = /^(1|true|yes|on)$/i;

/**
 * The station's data lives in a folder of its own under userData (which also holds Chromium's
 * profile: caches, local storage), unless --data or IMPRINT_DATA names one.
 */
export function shellOptions(argv: readonly string[], env: NodeJS.ProcessEnv, userData: string): ShellOptions {
  return {
    kiosk: argv.includes('--kiosk') || TRUE.test(env.IMPRINT_KIOSK ?? ''),
    dataDir: argValue(argv, 'data') || env.IMPRINT_DATA || join(userData, 'station'),
    simulate: argValue(argv, 'simulate') || env.IMPRINT_SIMULATE || undefined,
  };
}

export interface CoreCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * The station core (`imprint web --electron-child`). Installed (packaged), it runs on Electron's
 * own binary in Node mode, so a plant PC needs no Node and the native modules are the ones
 * electron-builder rebuilt for Electron; from a checkout it runs on the Node that started
 * `imprint start` (IMPRINT_NODE), with the native modules npm built for it.
 */
export function coreCommand(opts: {
  packaged: boolean;
  execPath: string;
  /** The app's root: the repository, or resources/app.asar when installed. */
  root: string;
  options: ShellOptions;
  env: NodeJS.ProcessEnv;
}): CoreCommand {
  // Installed, the core's files are unpacked next to the asar (electron-builder.yml, asarUnpack).
  const root = opts.packaged ? opts.root.replace(/app\.asar$/, 'app.asar.unpacked') : opts.root;
  const args = [join(root, 'bin', 'imprint.mjs'), 'web', '--port', '0', '--electron-child', '--data', opts.options.dataDir];
  if (opts.options.simulate) args.push('--simulate', opts.options.simulate);
  if (opts.packaged) return { command: opts.execPath, args, env: { ...opts.env, ELECTRON_RUN_AS_NODE: '1' } };
  return { command: opts.env.IMPRINT_NODE || 'node', args, env: { ...opts.env } };
}
