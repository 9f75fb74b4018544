// The pairing core's own audit chain, verified the same on both engines (SQLite: pairing.sqlite,
// migration 008; PostgreSQL: core_audit_events) and before `pairing store copy` moves it: each row's
// event goes through the ChainChecker that verifies a station's trail, its exports and the central
// copy (links, canonical bodies, hashes, contiguity, anchors). Around it, what only these tables can
// get wrong: the stored body must be exactly the hashed text, the searchable columns must say what the
// sealed body says, every event must be the core's, and the chain must reach the head row the
// appenders keep (a cut tail shows there).
import type { Anchor } from '../../audit/audit-anchor.ts';
import { ChainChecker } from '../../audit/audit-chain.ts';
import type { AuditEvent, ChainStatus } from '../../audit/audit-types.ts';
import { hashBody } from '../../audit/chain-link.ts';
import { PAIRING_CORE_STATION } from '../core-audit.ts';

/** A row of the core's chain table, as both engines store it. */
export interface CoreChainRow {
  seq: number;
  hash: string;
  body: string;
  ts: string;
  device_id: string | null;
  hardware_serial: string | null;
  operator: string | null;
  step: string;
  outcome: string;
}

/** The row of a sealed event (its body is the exact text the hash covers). */
export function coreChainRowOf(event: AuditEvent, body: string): CoreChainRow {
  return {
    seq: event.seq,
    hash: event.hash,
    body,
    ts: event.ts,
    device_id: event.deviceId ?? null,
    hardware_serial: event.hardwareSerial ?? null,
    operator: event.operator ?? null,
    step: event.step,
    outcome: event.outcome,
  };
}

export interface CoreChainHead {
  last_seq: number;
  last_hash: string;
}

/** Columns kept beside the body for queries, and the event member each one mirrors. */
const MIRRORS = [
  ['ts', 'ts'],
  ['device_id', 'deviceId'],
  ['hardware_serial', 'hardwareSerial'],
  ['operator', 'operator'],
  ['step', 'step'],
  ['outcome', 'outcome'],
] as const satisfies readonly (readonly [keyof CoreChainRow, keyof AuditEvent])[];

/** The event a row holds, or why it cannot be one. */
function eventOfRow(row: CoreChainRow): AuditEvent | string {
  const seq = Number(row.seq);
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.body);
  } catch {
    return `event ${seq} cannot be read (its body is not JSON)`;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return `event ${seq} cannot be read`;
  const { v: _v, ...event } = parsed as AuditEvent & { v?: unknown };
  event.hash = row.hash;
  if (event.seq !== seq) return `event ${seq} holds the body of event ${String(event.seq)}`;
  if (event.station !== PAIRING_CORE_STATION)
    return `event ${seq} is not the core's (station ${JSON.stringify(event.station)}, expected ${PAIRING_CORE_STATION})`;
  for (const [column, member] of MIRRORS)
    if ((row[column] ?? undefined) !== (event[member] ?? undefined))
      return `event ${seq}: column ${column} does not say what its sealed body says (edited after it was written)`;
  return event;
}

/**
 * Verifies a core chain read page by page (`page(fromSeq)`: rows from that seq on, in seq order,
 * empty at the end). `head` is the appenders' head row: null when the table has none, undefined when
 * there is no head to compare (rows taken out of a dump).
 */
export async function verifyCoreChain(
  page: (fromSeq: number) => CoreChainRow[] | Promise<CoreChainRow[]>,
  head?: CoreChainHead | null,
  opts: { anchors?: readonly Anchor[] } = {},
): Promise<ChainStatus> {
  const checker = new ChainChecker({ fromSeq: 1, anchors: opts.anchors });
  let from = 1;
  while (!checker.done) {
    const rows = await page(from);
    if (rows.length === 0) break;
    for (const row of rows) {
      const event = eventOfRow(row);
      if (typeof event === 'string') checker.fail(Number(row.seq), event);
      else {
        checker.push(event);
        // The same facts in another spelling would hash the same once re-serialised: the stored text must be it.
        if (!checker.done && hashBody(row.body) !== row.hash)
          checker.fail(event.seq, `event ${event.seq}: the stored body is not exactly the text its hash covers`);
      }
      if (checker.done) break;
    }
    from = Number(rows[rows.length - 1].seq) + 1;
  }
  if (!checker.done && head !== undefined) {
    const problem = headProblem(head, checker.last ?? { seq: 0, hash: '' });
    if (problem) checker.fail(problem.seq, problem.reason);
  }
  return checker.finish();
}

/** The head row (the appenders' own record of the end) against the last event verified. */
function headProblem(
  head: CoreChainHead | null,
  last: { seq: number; hash: string },
): { seq: number; reason: string } | undefined {
  if (!head)
    return last.seq > 0
      ? { seq: last.seq, reason: 'the chain head row is missing (deleted after events were written)' }
      : undefined;
  const headSeq = Number(head.last_seq);
  if (headSeq > last.seq)
    return {
      seq: last.seq + 1,
      reason: `events ${last.seq + 1}..${headSeq} are missing: the chain head records ${headSeq} events (the chain was cut)`,
    };
  if (headSeq < last.seq)
    return {
      seq: headSeq + 1,
      reason: `events after ${headSeq}, where the chain head stands, were not appended by the core (inserted by hand)`,
    };
  if (last.seq > 0 && head.last_hash !== last.hash)
    return { seq: last.seq, reason: `the chain head records another hash for event ${last.seq} (one of them was rewritten)` };
  return undefined;
}
