// `imprint device-test`: run every rule of docs/device-protocol.md against a device on a stream
// and report one verdict per rule, with the frames that prove it.
import type { Duplex } from 'node:stream';
import { describeError } from '../../common/errors.ts';
import { GLOBAL_CHECKS } from './kit-checks-global.ts';
import { prepareStorage, STORAGE_CHECKS } from './kit-checks-storage.ts';
import { type Check, WIRE_CHECKS } from './kit-checks-wire.ts';
import { KIT_SECRETS, KitContext, type KitOptions } from './kit-context.ts';
import { KitLink, type WireLine } from './kit-link.ts';
import { KIT_RULES, RULE_IDS, type RuleId, ruleIsManual } from './kit-rules.ts';

export type RuleStatus = 'pass' | 'fail' | 'skip' | 'manual';

export interface RuleResult {
  id: RuleId;
  section: string;
  rule: string;
  status: RuleStatus;
  /** Why it failed or was skipped; for a pass, what was not covered. */
  reason?: string;
  frames: WireLine[];
}

export interface KitReport {
  kit: 'imprint-device-test/1';
  protocol: '1.1';
  port?: string;
  destructive: boolean;
  /** The device's HELLO reply, as it answered. */
  device: Record<string, string>;
  /** The secrets the kit wrote (test values, never credentials). */
  testSecrets: string[];
  rules: RuleResult[];
  counts: Record<RuleStatus, number>;
  durationMs: number;
}

export async function runDeviceKit(stream: Duplex, opts: KitOptions & { port?: string } = {}): Promise<KitReport> {
  const link = new KitLink(stream);
  const k = new KitContext(link, opts);
  const results = new Map<RuleId, RuleResult>();
  const record = (id: RuleId, status: RuleStatus, reason?: string, frames: WireLine[] = []) =>
    results.set(id, { id, ...KIT_RULES[id], status, reason, frames });
  let stopped: string | undefined;

  const run = async (checks: Check[], skipReason?: (c: Check) => string | undefined) => {
    for (const check of checks) {
      const skip = stopped ? `not run: ${stopped}` : skipReason?.(check);
      if (skip) {
        record(check.id, 'skip', skip);
        continue;
      }
      link.evidence = [];
      const wasOpen = !link.closedReason;
      let verdict: Awaited<ReturnType<Check['run']>>;
      try {
        verdict = await check.run(k);
      } catch (e) {
        verdict = `the kit failed: ${describeError(e)}`;
      }
      if (wasOpen && link.closedReason) {
        stopped = `${link.closedReason} during ${check.id}`;
        verdict ??= link.closedReason;
      }
      if (verdict === undefined) record(check.id, 'pass', undefined, link.evidence);
      else if (typeof verdict === 'string') record(check.id, 'fail', verdict, link.evidence);
      else if ('skip' in verdict) record(check.id, 'skip', verdict.skip, link.evidence);
      else record(check.id, 'pass', verdict.note, link.evidence);
      // Without a HELLO reply nothing else can be judged (not even the device's frame limit).
      if (check.id === 'H-REPLY' && Object.keys(k.hello).length === 0) stopped = 'no valid OK reply to HELLO';
    }
  };

  // Whatever a tty buffer still holds from an earlier session is not this device's answer to us.
  await link.idle(100);
  link.sessionStart = link.lines.length;
  await run(WIRE_CHECKS);
  if (opts.destructive && !stopped) {
    link.evidence = [];
    const notEmpty = await prepareStorage(k);
    await run(STORAGE_CHECKS, (c) => (notEmpty && c.id !== 'R-RESET' ? notEmpty : undefined));
  } else await run(STORAGE_CHECKS, () => 'writes the device: needs --destructive');
  stopped = undefined; // the whole-run rules judge what was seen, even when the device went away
  await run(GLOBAL_CHECKS);
  for (const id of RULE_IDS) if (ruleIsManual(id)) record(id, 'manual', 'cannot be checked over the serial line');
  link.detach();

  const rules = RULE_IDS.map((id) => results.get(id)!);
  const counts: Record<RuleStatus, number> = { pass: 0, fail: 0, skip: 0, manual: 0 };
  for (const r of rules) counts[r.status]++;
  return {
    kit: 'imprint-device-test/1',
    protocol: '1.1',
    port: opts.port,
    destructive: opts.destructive ?? false,
    device: k.hello,
    testSecrets: opts.destructive ? KIT_SECRETS.filter((s) => k.secretsSent.has(s)) : [],
    rules,
    counts,
    durationMs: Math.round(link.now),
  };
}
