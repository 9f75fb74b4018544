// What every check of the conformance kit works with: the link, the device's HELLO, the waits and
// time limits, the timings measured so far, and small helpers that turn an exchange into a verdict
// (undefined when it is what the rule wants, else a sentence saying what came instead).
import { createHash } from 'node:crypto';
import { QUICK_REPLY_LIMIT_MS, STORAGE_COMMANDS, STORAGE_REPLY_LIMIT_MS } from '../device-protocol.ts';
import type { Exchange, KitLink, WireLine } from './kit-link.ts';

export interface KitOptions {
  destructive?: boolean;
  /** Added to every time limit (a slow adapter, a loaded CI host). */
  slackMs?: number;
  /** How long past its time limit the kit waits for a reply that does not come (default 1000 ms). */
  timeoutMs?: number;
}

export interface Timing {
  kind: 'quick' | 'storage';
  latencyMs: number;
  request: string;
  reply: string;
}

/** undefined: pass; a string: fail, saying why; `note`: pass, with what was not covered. */
export type Verdict = string | undefined | { skip: string } | { note: string };

/** Fixed, reproducible test secrets: never a credential, printed in the report. */
export const KIT_SECRETS = [1, 2].map((n) => createHash('sha256').update(`imprint-device-test-${n}`).digest('base64')) as [
  string,
  string,
];

export class KitContext {
  readonly timings: Timing[] = [];
  /** Requests the device executed (and so cached), oldest first, as `seq|line`. */
  readonly executed: string[] = [];
  readonly secretsSent = new Set<string>();
  hello: Record<string, string> = {};
  /** What the destructive checks hand on to each other (digest, stashed exchanges…). */
  readonly state: Record<string, unknown> = {};

  constructor(
    readonly link: KitLink,
    readonly opts: KitOptions,
  ) {}

  get slack(): number {
    return this.opts.slackMs ?? 0;
  }

  get quickWait(): number {
    return QUICK_REPLY_LIMIT_MS + this.slack + (this.opts.timeoutMs ?? 1000);
  }

  get storageWait(): number {
    return STORAGE_REPLY_LIMIT_MS + this.slack + (this.opts.timeoutMs ?? 1000);
  }

  get minor(): number {
    return /^[0-9]+$/.test(this.hello.minor ?? '') ? Number(this.hello.minor) : 0;
  }

  get max(): number {
    return /^[0-9]+$/.test(this.hello.max ?? '') ? Number(this.hello.max) : 512;
  }

  get caps(): string[] {
    return (this.hello.caps ?? '').split(',').filter(Boolean);
  }

  /** A well-formed request with a fresh sequence number; its latency counts for T-QUICK/T-STORAGE. */
  async request(verb: string, args: Record<string, string> = {}, seq?: number): Promise<Exchange> {
    if (verb === 'WRITE' && args.secret) this.secretsSent.add(args.secret);
    const kind = STORAGE_COMMANDS.includes(verb) ? 'storage' : 'quick';
    return this.timed(kind, await this.link.request(verb, args, this.wait(kind), seq));
  }

  /** A hand-made line (possibly broken on purpose) with the sequence number it carries. */
  async raw(line: string, seq: number, ending = '\n'): Promise<Exchange> {
    return this.timed('quick', await this.link.exchange(line, seq, this.quickWait, ending));
  }

  timed(kind: 'quick' | 'storage', x: Exchange): Exchange {
    if (x.latencyMs !== undefined && x.replyLine) {
      this.timings.push({ kind, latencyMs: x.latencyMs, request: x.request, reply: x.replyLine });
    }
    const code = x.reply?.args.code;
    const key = `${x.seq}|${x.request}`;
    if (x.reply && code !== 'BAD_CRC' && code !== 'BAD_FRAME' && !this.executed.includes(key)) this.executed.push(key);
    return x;
  }

  /** Show frames of an earlier exchange among the current rule's evidence. */
  cite(x: Exchange | undefined): void {
    if (!x) return;
    const sent = this.link.lines.find((l) => l.dir === 'tx' && l.line === x.request);
    const got = this.link.lines.find((l) => l.dir === 'rx' && l.line === x.replyLine);
    this.link.evidence.unshift(...[sent, got].filter((l) => l !== undefined));
  }

  wait(kind: 'quick' | 'storage'): number {
    return kind === 'storage' ? this.storageWait : this.quickWait;
  }

  /** Lines the device sent in answer to lines that must get no reply (see KitLink.sync). */
  async repliesBeforeSync(): Promise<WireLine[] | string> {
    const synced = await this.link.sync(this.quickWait);
    if (!synced) return 'no reply to the STATUS sent after it: the device stopped answering';
    this.timed('quick', synced.probe);
    return synced.between.filter((l) => l.line.startsWith('<'));
  }
}

/** One line for a reason: what came back. */
export function said(x: Exchange): string {
  if (!x.replyLine) return 'no reply';
  if (!x.reply) return `a damaged reply (${x.replyLine})`;
  const args = Object.entries(x.reply.args)
    .filter(([k]) => k !== 'msg')
    .map(([k, v]) => `${k}=${v}`);
  return [x.reply.verb, ...args].join(' ');
}

/** OK, with these arguments equal (string) or matching (RegExp). */
export function expectOk(x: Exchange, want: Record<string, string | RegExp | undefined> = {}): string | undefined {
  if (x.reply?.verb !== 'OK') return `expected OK, got ${said(x)}`;
  for (const [key, w] of Object.entries(want)) {
    const v = x.reply.args[key];
    if (w === undefined ? v !== undefined : typeof w === 'string' ? v !== w : v === undefined || !w.test(v)) {
      return `expected ${key}${w === undefined ? ' absent' : `=${w}`}, got ${said(x)}`;
    }
  }
  return undefined;
}

export function expectErr(x: Exchange, code: string): string | undefined {
  return x.reply?.verb === 'ERR' && x.reply.args.code === code ? undefined : `expected ERR code=${code}, got ${said(x)}`;
}

/** The first failure of several verdicts, each tagged with what was sent. */
export function firstFailure(...checks: [string, string | undefined][]): string | undefined {
  const bad = checks.find(([, v]) => v !== undefined);
  return bad ? `${bad[0]}: ${bad[1]}` : undefined;
}
