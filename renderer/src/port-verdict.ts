// How a "Test port" answer reads to a person: the station says whether a device answered
// (`answered`); a port that opens but where nothing answers is a failure for whoever is looking for
// their fixture.
import type { PortTestResult } from './api-types.ts';

export function portVerdict(r: PortTestResult): { ok: boolean; text: string } {
  if (r.answered === 'nothing' || (r.answered === undefined && /no device answered/i.test(r.detail))) {
    const why = /\(([^)]*)\)/.exec(r.detail)?.[1];
    return { ok: false, text: `✘ No device answered. The port opens${why ? ` (${why})` : ''}.` };
  }
  return { ok: r.ok, text: `${r.ok ? '✔' : '✘'} ${r.detail}` };
}
