// The areas of the `imprint` command line. main.ts imports only the area a command line names, so
// `imprint --help` and a wrong command answer at once (importing every area loads the pairing core,
// SQLite, Fastify and serialport: 2–4 s). test/cli/command-areas.test.ts keeps this table true.
import type { Command } from 'commander';

export type Register = (program: Command) => void;

export interface Area {
  /** The top-level commands the area registers, with the line `imprint --help` shows for each. */
  commands: Record<string, string>;
  load: () => Promise<Register>;
}

export const AREAS: Area[] = [
  {
    commands: { pairing: 'pairing core: serve the Astarte Pairing API, manage realms, agent tokens and devices' },
    load: async () => (await import('./pairing-commands.ts')).registerPairingCommands,
  },
  {
    commands: {
      serial: 'serial ports: list them, probe a device, watch a scanner',
      sim: 'simulators: a device on its programming port, a barcode scanner',
    },
    load: async () => (await import('./serial-commands.ts')).registerSerialCommands,
  },
  {
    commands: { station: 'Run the provisioning station headless, recover after a crash, show its state' },
    load: async () => (await import('./station-commands.ts')).registerStationCommands,
  },
  {
    commands: {
      audit: 'the tamper-evident audit trail: verify, export, query',
      batch: 'batches (a shift or a work order), closed with a signed summary',
    },
    load: async () => (await import('./audit-commands.ts')).registerAuditCommands,
  },
  {
    commands: {
      web: 'serve the Imprint UI and station API on 127.0.0.1 (prints the URL with its session token)',
      start: 'start Imprint: the desktop app when Electron is available, else web mode (what `npm start` runs)',
      'admin-pin': 'set a new random admin PIN for the station (printed once)',
    },
    load: async () => (await import('./web-commands.ts')).registerWebCommands,
  },
  {
    commands: { sync: "push offline batches and the station's audit trail to the remote pairing core" },
    load: async () => (await import('./sync-commands.ts')).registerSyncCommands,
  },
  {
    commands: { 'device-test': "check a device's side of the device protocol, rule by rule (the conformance kit)" },
    load: async () => (await import('./device-test-commands.ts')).registerDeviceTestCommands,
  },
  {
    commands: { utils: 'key pairs, device ids and JWTs (as astartectl utils)' },
    load: async () => (await import('./astartectl-commands.ts')).registerAstartectlUtilsCommands,
  },
  {
    commands: { completion: 'print a shell completion script: bash or zsh (e.g. source <(imprint completion bash))' },
    // Completion is generated from the whole command tree, so this one area loads all the others.
    load: async () => {
      const others = await Promise.all(AREAS.filter((a) => !('completion' in a.commands)).map((a) => a.load()));
      const { registerCompletionCommand } = await import('./completion.ts');
      return (program) => {
        for (const register of others) register(program);
        registerCompletionCommand(program);
      };
    },
  },
];

/** The area a command line is about: `imprint station run …`, or `imprint help station`. */
export function areaOf(argv: string[]): Area | undefined {
  const args = argv.slice(2);
  const name = args[0] === 'help' ? args[1] : args[0];
  return AREAS.find((a) => name !== undefined && name in a.commands);
}
