// A server that cannot listen, told in one sentence: which address, and the option that changes
// it. Shared by every command that serves (`imprint web`, `imprint pairing serve`).
import { ImprintError } from './errors.ts';

export interface ListenTarget {
  host: string;
  port: number;
  /** The command's option for the port, e.g. `--port`. */
  portOption: string;
  /** The command's option for the address, when it has one. */
  hostOption?: string;
}

interface ListenFailure {
  /** Node's errno, and the code a server layer may already have given it. */
  codes: readonly string[];
  message: (t: ListenTarget) => string;
  action: (t: ListenTarget) => string;
}

export const LISTEN_FAILURES = {
  PORT_IN_USE: {
    codes: ['EADDRINUSE', 'PORT_IN_USE'],
    message: (t) => `Port ${t.port} on ${t.host} is already in use`,
    action: (t) => `choose another with ${t.portOption} (${t.portOption} 0 picks a free one), or stop what is using it`,
  },
  PORT_DENIED: {
    codes: ['EACCES', 'PORT_DENIED'],
    message: (t) => `This user may not listen on port ${t.port} of ${t.host}`,
    action: (t) => `choose a port from 1024 up with ${t.portOption}`,
  },
  BAD_ADDRESS: {
    codes: ['EADDRNOTAVAIL', 'ENOTFOUND', 'BAD_ADDRESS'],
    message: (t) => `${t.host} is not an address of this machine`,
    action: (t) =>
      t.hostOption ? `choose one that is with ${t.hostOption} (127.0.0.1 for this machine only)` : 'check its network settings',
  },
} as const satisfies Record<string, ListenFailure>;

export type ListenFailureCode = keyof typeof LISTEN_FAILURES;

/** The one-sentence error for a failed listen, or undefined when `e` is not one. */
export function listenFailure(e: unknown, target: ListenTarget): ImprintError<ListenFailureCode> | undefined {
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string') return undefined;
  for (const [name, f] of Object.entries(LISTEN_FAILURES) as [ListenFailureCode, ListenFailure][]) {
    if (f.codes.includes(code)) return new ImprintError(name, `${f.message(target)}: ${f.action(target)}.`, { cause: e });
  }
  return undefined;
}
