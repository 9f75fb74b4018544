// Exit codes of `imprint station …` (docs/station.md) and how a station command reports an error:
// one sentence and what to do, never a stack trace. A later refactor unifies exit codes across
// commands; until then these stay as documented.
import { describeError, ImprintError } from '../common/errors.ts';
import { LINE_FAULTS, lineFaultOf } from '../station/line-faults.ts';
import { LineInterrupted } from '../station/line-gate.ts';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
/** Records are still pending (a device could not be reached): `station recover` or a decision settles them. */
export const EXIT_PENDING = 3;
export const EXIT_DEVICES_FAILED = 4;
/** A fault of the station itself (storage, pairing core, agent token): the line could not go on. */
export const EXIT_STATION_FAULT = 6;

/** Print a command's error as one line plus what to do, and set the exit code (station faults: 6). */
export function reportStationError(e: unknown): void {
  const fault = e instanceof LineInterrupted ? e.fault : lineFaultOf(e, 'data');
  if (fault) {
    const f = LINE_FAULTS[fault.code];
    console.error(`imprint: ${fault.code}: ${f.message} (${fault.detail})\n  → ${f.action}`);
    process.exitCode = EXIT_STATION_FAULT;
    return;
  }
  const hint = e instanceof ImprintError && e.hint ? `\n  → ${e.hint}` : '';
  console.error(`imprint: ${describeError(e)}${hint}`);
  if (!process.exitCode) process.exitCode = EXIT_ERROR;
}
