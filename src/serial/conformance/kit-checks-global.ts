// Rules judged over the whole run once the other checks are done: every reply well-formed, no
// secret ever sent back, every reply within its time limit.
import { QUICK_REPLY_LIMIT_MS, STORAGE_REPLY_LIMIT_MS, WIRE_ERROR_CODES } from '../device-protocol.ts';
import { parseFrameLine } from '../frame-codec.ts';
import type { Check } from './kit-checks-wire.ts';
import type { KitContext, Timing, Verdict } from './kit-context.ts';
import type { WireLine } from './kit-link.ts';

const CODES = new Set<string>(WIRE_ERROR_CODES);

function replyProblem(k: KitContext, line: string): string | undefined {
  if (line.startsWith('>')) return 'the device sent a request line';
  if (!line.startsWith('<')) return undefined; // console output is allowed
  if (line.length + 1 > 512) return `${line.length + 1} bytes, more than 512`;
  const r = parseFrameLine(line);
  if (r.kind !== 'frame') return `not a valid frame (${r.kind === 'error' ? r.code : 'noise'})`;
  const f = r.frame;
  if (!k.link.sentSeqs.has(f.seq)) return 'a sequence number the kit never sent';
  if (f.verb !== 'OK' && f.verb !== 'ERR') return `verb ${f.verb}, not OK or ERR`;
  if (f.verb === 'ERR' && !CODES.has(f.args.code ?? ''))
    return `code=${f.args.code ?? '(none)'} is not in the table of section 5`;
  return undefined;
}

/** Show these lines as the rule's evidence (the rule ran over the whole session). */
function show(k: KitContext, lines: WireLine[]): void {
  k.link.evidence = lines.slice(0, 6);
}

function withinLimit(k: KitContext, kind: Timing['kind'], limit: number): Verdict {
  const timings = k.timings.filter((t) => t.kind === kind);
  if (timings.length === 0) return { skip: 'no such reply in this run (WRITE, LOCK, CONFIG and RESET need --destructive)' };
  const slowest = timings.reduce((a, b) => (b.latencyMs > a.latencyMs ? b : a));
  const ms = Math.round(slowest.latencyMs);
  show(k, [
    { dir: 'tx', line: slowest.request, atMs: 0 },
    { dir: 'rx', line: slowest.reply, atMs: slowest.latencyMs },
  ]);
  const allowed = limit + k.slack;
  if (slowest.latencyMs > allowed) return `the slowest of ${timings.length} replies took ${ms} ms, more than ${allowed} ms`;
  return { note: `slowest of ${timings.length} replies: ${ms} ms (limit ${allowed} ms)` };
}

export const GLOBAL_CHECKS: Check[] = [
  {
    id: 'F-REPLY',
    async run(k) {
      const bad = k.link.lines
        .filter((l) => l.dir === 'rx')
        .flatMap((l) => {
          const problem = replyProblem(k, l.line);
          return problem ? [{ l, problem }] : [];
        });
      show(
        k,
        bad.map((b) => b.l),
      );
      if (bad.length === 0) return { note: `${k.link.lines.length - k.link.sessionStart} lines checked` };
      return `${bad.length} bad line${bad.length > 1 ? 's' : ''} from the device; the first: ${bad[0].problem}`;
    },
  },
  {
    id: 'W-NO-ECHO',
    async run(k) {
      if (k.secretsSent.size === 0) return { skip: 'no secret was written (needs --destructive)' };
      const echoed = k.link.lines
        .slice(k.link.sessionStart)
        .filter((l) => l.dir === 'rx' && [...k.secretsSent].some((s) => l.line.includes(s)));
      show(k, echoed);
      if (echoed.length === 0) return { note: `${k.secretsSent.size} secrets looked for in every line the device sent` };
      return `the device sent a secret back: ${echoed[0].line}`;
    },
  },
  { id: 'T-QUICK', run: async (k) => withinLimit(k, 'quick', QUICK_REPLY_LIMIT_MS) },
  { id: 'T-STORAGE', run: async (k) => withinLimit(k, 'storage', STORAGE_REPLY_LIMIT_MS) },
];
