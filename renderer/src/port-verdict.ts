// How a "Test port" answer reads to a person. The station answers `ok` when the port merely opens;
// a port where no device answered is a failure for whoever is looking for their fixture.
// TODO(api): read a structured `answered` field once the API has one (docs/ui-api-needs.md).
import type { PortTestResult } from './api-types.ts';

export function portVerdict(r: PortTestResult): { ok: boolean; text: string } {
  if (/no device answered/i.test(r.detail)) {
    const why = /\(([^)]*)\)/.exec(r.detail)?.[1];
    return { ok: false, text: `✘ No device answered. The port opens${why ? ` (${why})` : ''}.` };
  }
  return { ok: r.ok, text: `${r.ok ? '✔' : '✘'} ${r.detail}` };
}
