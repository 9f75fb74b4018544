// The kit's report as text for a person at a terminal: one line per rule, the reason when it did
// not pass, then the frames that prove it (a few per rule; --json has them all).
import type { KitReport, RuleResult } from './run-device-kit.ts';

const FRAMES_SHOWN = 8;

function printable(line: string): string {
  return line.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function ruleLines(r: RuleResult): string[] {
  const out = [`${r.status.toUpperCase().padEnd(6)} ${r.id.padEnd(13)} ${r.rule}`];
  if (r.reason) out.push(`       ${r.status === 'pass' ? 'note' : 'why'}: ${r.reason}`);
  for (const f of r.frames.slice(0, FRAMES_SHOWN)) out.push(`         ${f.dir === 'tx' ? 'sent' : 'got '} ${printable(f.line)}`);
  if (r.frames.length > FRAMES_SHOWN) out.push(`         … ${r.frames.length - FRAMES_SHOWN} more frames (--json has them all)`);
  return out;
}

export function formatKitReport(report: KitReport): string {
  const d = report.device;
  const version = d.v ? `protocol ${d.v}.${d.minor ?? '0'}` : 'no HELLO reply';
  const lines = [
    `imprint device-test ${report.port ?? ''}: ${d.model ?? '?'} firmware ${d.fw ?? '?'}, ${version}, max=${d.max ?? '?'}, caps ${d.caps ?? '?'}`,
    report.destructive
      ? `destructive: writes test secrets ${report.testSecrets.join(', ') || '(none written)'}`
      : 'read-only: no WRITE, LOCK, CONFIG or RESET sent (--destructive runs them on a device for tests)',
    '',
    ...report.rules.flatMap(ruleLines),
    '',
    `${report.rules.length} rules: ${report.counts.pass} pass, ${report.counts.fail} fail, ${report.counts.skip} skip, ${report.counts.manual} manual (${(report.durationMs / 1000).toFixed(1)} s)`,
  ];
  return `${lines.join('\n')}\n`;
}
