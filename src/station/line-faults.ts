// Faults of the station itself, as opposed to faults of a device (failure-codes.ts). A device is
// never failed for these: the whole line pauses with one of them, shows its message and action,
// and resumes by itself once a retry of the step that hit it succeeds (line-gate.ts).

import { errorClass } from '../common/errors.ts';
import type { LinePause } from './station-types.ts';

export const LINE_FAULTS = {
  STATION_STORAGE_FULL: {
    message: 'Station storage full: the station cannot record devices.',
    action: "Free disk space on the drive holding the station's data folder. The line resumes by itself.",
    scope: 'storage',
  },
  STATION_STORAGE_READONLY: {
    message: 'Station storage cannot be written (read-only disk or no permission).',
    action: 'Tell plant IT: the data folder must be writable by the station. The line resumes by itself.',
    scope: 'storage',
  },
  STATION_STORAGE_DAMAGED: {
    message: 'A station database is damaged.',
    action: 'Stop the line and tell plant IT: restore the data folder from its backup. Keep the devices in their fixtures.',
    scope: 'storage',
  },
  STATION_STORAGE_ERROR: {
    message: 'Station storage cannot record (input/output error or busy).',
    action: 'Tell plant IT: check the disk holding the data folder. The line resumes by itself when writes succeed.',
    scope: 'storage',
  },
  PAIRING_CORE_UNREACHABLE: {
    message: 'Pairing core unreachable: devices cannot be registered.',
    action: 'Tell plant IT the pairing core is down. Leave the devices in their fixtures: the line resumes by itself.',
    scope: 'pairing',
  },
  AGENT_TOKEN_REFUSED: {
    message: "Agent token refused: the pairing core does not accept this station's token for the realm.",
    action: 'Ask plant IT for a valid agent token for this realm and set it in Settings (F4).',
    scope: 'pairing',
  },
  REGISTRATION_LIMIT_REACHED: {
    message: "The realm's device registration limit is reached.",
    action: "Tell plant IT to raise the realm's registration limit. The line resumes by itself.",
    scope: 'pairing',
  },
} as const satisfies Record<string, { message: string; action: string; scope: FaultScope }>;

export type LineFaultCode = keyof typeof LINE_FAULTS;

/** A station fault told to a caller that does not wait for it to clear (e.g. a sign-in that cannot be recorded). */
export const LineFaultError = errorClass('LineFaultError', LINE_FAULTS);
export type LineFaultError = InstanceType<typeof LineFaultError>;

/** Storage faults block every station step; pairing faults block registrations (and new devices). */
export type FaultScope = 'storage' | 'pairing';

/** Where a station step records or registers: names the store in the fault's detail. */
export type StationStep = 'audit' | 'vault' | 'registry' | 'pairing' | 'data';

const STEP_PLACE: Record<StationStep, string> = {
  data: 'station data folder',
  audit: 'audit trail (audit.db)',
  vault: 'write-ahead records (station.db)',
  registry: 'device registry (station.db)',
  pairing: 'pairing core',
};

export interface LineFault {
  code: LineFaultCode;
  scope: FaultScope;
  /** Where it was seen and the underlying error, one line, never a secret. */
  detail: string;
}

// SQLite result codes (extended ones start with these) and errno codes, by fault.
const STORAGE_CODES: [LineFaultCode, RegExp][] = [
  ['STATION_STORAGE_FULL', /^(SQLITE_FULL|ENOSPC|EDQUOT)$/],
  ['STATION_STORAGE_READONLY', /^(SQLITE_READONLY\w*|SQLITE_CANTOPEN\w*|SQLITE_PERM|SQLITE_AUTH|EROFS|EACCES|EPERM)$/],
  ['STATION_STORAGE_DAMAGED', /^(SQLITE_CORRUPT\w*|SQLITE_NOTADB)$/],
  ['STATION_STORAGE_ERROR', /^(SQLITE_IOERR\w*|SQLITE_BUSY\w*|SQLITE_LOCKED\w*|SQLITE_PROTOCOL|EIO|EMFILE|ENFILE)$/],
];
/** A store's own "could not commit" error: a storage fault even when its cause says nothing more. */
const WRITE_FAILED = new Set(['AUDIT_WRITE_FAILED', 'VAULT_WRITE_FAILED', 'STORE_WRITE_FAILED']);
/** Answers of a pairing core that concern the station (its token, its realm), not the device. */
const PAIRING_CODES: Record<string, LineFaultCode> = {
  UNREACHABLE: 'PAIRING_CORE_UNREACHABLE',
  REMOTE_ERROR: 'PAIRING_CORE_UNREACHABLE',
  MISSING_TOKEN: 'AGENT_TOKEN_REFUSED',
  INVALID_TOKEN: 'AGENT_TOKEN_REFUSED',
  TOKEN_REFUSED: 'AGENT_TOKEN_REFUSED',
  UNAUTHORIZED: 'AGENT_TOKEN_REFUSED',
  UNAUTHORIZED_PATH: 'AGENT_TOKEN_REFUSED',
  REALM_NOT_FOUND: 'AGENT_TOKEN_REFUSED',
  REGISTRATION_LIMIT: 'REGISTRATION_LIMIT_REACHED',
};

function codesOf(e: unknown): { code: string; message: string }[] {
  const out: { code: string; message: string }[] = [];
  let cur: unknown = e;
  for (let depth = 0; depth < 6 && cur && typeof cur === 'object'; depth++) {
    const { code, message } = cur as { code?: unknown; message?: unknown };
    if (typeof code === 'string') out.push({ code, message: typeof message === 'string' ? message : code });
    cur = (cur as { cause?: unknown }).cause;
  }
  return out;
}

/** The station fault an error of a station step stands for, or undefined when it is not one. */
export function lineFaultOf(e: unknown, step: StationStep): LineFault | undefined {
  const chain = codesOf(e);
  const place = STEP_PLACE[step];
  const make = (code: LineFaultCode, why: string): LineFault => ({
    code,
    scope: LINE_FAULTS[code].scope,
    detail: `${place}: ${why}`.slice(0, 300),
  });
  const top = chain[0];
  if (step === 'pairing' && top && PAIRING_CODES[top.code]) return make(PAIRING_CODES[top.code], top.message);
  // Then the storage cause: an embedded core that cannot write is the station's disk, not the core.
  for (const link of chain) {
    const why =
      top && top !== link && !top.message.includes(link.message)
        ? `${top.message} (${link.message})`
        : (top?.message ?? link.message);
    for (const [code, pattern] of STORAGE_CODES) if (pattern.test(link.code)) return make(code, why);
  }
  const wrapper = chain.find((l) => WRITE_FAILED.has(l.code));
  return wrapper ? make('STATION_STORAGE_ERROR', wrapper.message) : undefined;
}

/** The pause as the API shows it. */
export function linePauseInfo(fault: LineFault, since: Date, probes: number, nextProbeAt: Date | undefined): LinePause {
  const f = LINE_FAULTS[fault.code];
  return {
    code: fault.code,
    message: f.message,
    action: f.action,
    detail: fault.detail,
    since: since.toISOString(),
    retries: probes,
    nextRetryAt: nextProbeAt?.toISOString(),
  };
}
