// How every `imprint` command ends on an error: `imprint: CODE: message` and, on the next line,
// what to do; or with --json one object `{"error": {code, message, hint}}` on standard output
// (standard output then always carries exactly one JSON document, result or error). Never a stack
// trace. The exit code comes from the error's code (exit-codes.ts).
import { catalogueMessage, ImprintError } from '../common/errors.ts';
import { LINE_FAULTS, lineFaultOf } from '../station/line-faults.ts';
import { LineInterrupted } from '../station/line-gate.ts';
import { EXIT, EXIT_BY_CODE, exitCodeOf } from './exit-codes.ts';

export interface ReportedError {
  code?: string;
  message: string;
  hint?: string;
}

/** What an error says to a person: a fault of the station's own storage is told as that fault. */
export function reportedError(e: unknown): ReportedError {
  const own = e instanceof ImprintError ? (EXIT_BY_CODE as Record<string, number | undefined>)[e.code] : undefined;
  const fault =
    e instanceof LineInterrupted ? e.fault : own === undefined || own === EXIT.STATION_FAULT ? lineFaultOf(e, 'data') : undefined;
  if (fault) {
    const f = LINE_FAULTS[fault.code];
    return { code: fault.code, message: catalogueMessage(f, fault.detail), hint: f.action };
  }
  if (e instanceof ImprintError) return { code: e.code, message: e.message, hint: e.hint };
  return { message: e instanceof Error ? e.message : String(e) };
}

/** Prints the error (text, or JSON with `json`) and sets the exit code. */
export function reportError(e: unknown, json: boolean): void {
  const r = reportedError(e);
  process.exitCode = r.code && r.code in LINE_FAULTS ? EXIT.STATION_FAULT : exitCodeOf(r.code, Number(process.exitCode ?? 0));
  if (json) {
    console.log(JSON.stringify({ error: r }));
    return;
  }
  console.error(`imprint: ${r.code ? `${r.code}: ` : ''}${r.message}${r.hint ? `\n  → ${r.hint}` : ''}`);
}

/** A usage error commander found (unknown option, missing argument): as JSON with `json`, else commander's text. */
export function usageErrorWriter(json: boolean): (text: string, write: (s: string) => void) => void {
  return (text, write) => {
    if (!json) return write(text);
    const message = text
      .replace(/^error: /, '')
      .split('\n')[0]
      .trim();
    console.log(JSON.stringify({ error: { code: 'BAD_USAGE', message } }));
  };
}

/** Whether the command line asks for JSON. */
export function wantsJson(argv: readonly string[]): boolean {
  return argv.includes('--json');
}
