// The central audit store on the remote core: every station's hash chain, appended in order and
// verified on arrival (contiguous seq, each event linked to the previous one, each hash recomputed
// from the canonical body), and queries across stations. Re-sending accepted events is harmless.
import { bodyOfEvent } from '../../audit/audit-canonical.ts';
import { ChainChecker } from '../../audit/audit-chain.ts';
import type { AuditEvent } from '../../audit/audit-types.ts';
import type { BatchCloseData } from '../../audit/batch-summary.ts';
import { GENESIS_HASH, hashBody } from '../../audit/chain-link.ts';
import type { PairingCoreExtension } from '../embedded-core.ts';
import { PairingError } from '../pairing-errors.ts';
import {
  type CentralEventFilter,
  type CentralEventKey,
  type CentralEventRow,
  type ChainHead,
  eventOf,
} from './central-audit-store.ts';
import type { ImportErrorCode } from './import-errors.ts';
import type { EnrolledStation } from './import-store.ts';
import { checkStationName } from './station-name.ts';
import type { StationRegistry } from './station-registry.ts';

export type { ChainHead } from './central-audit-store.ts';

/** Why an import was refused, and where: nothing of the request was stored. */
export type ChainRefusal = 'gap' | 'broken-link' | 'tampered' | 'differs' | 'malformed' | 'bad-signature';

/**
 * A gap or a different copy of an accepted event conflicts with the chain held here; a batch summary
 * that does not verify under the enrolled key is a bad signature; the rest is broken content.
 */
const CHAIN_CODE: Record<ChainRefusal, ImportErrorCode> = {
  gap: 'CHAIN_CONFLICT',
  differs: 'CHAIN_CONFLICT',
  'broken-link': 'CHAIN_INVALID',
  tampered: 'CHAIN_INVALID',
  malformed: 'CHAIN_INVALID',
  'bad-signature': 'AUDIT_SIGNATURE_INVALID',
};

/**
 * The first batch summary in `events` that does not verify under the enrolled key, by the station's own
 * verifier (audit-chain.ts: signature, key, and counts when the whole batch is in the request). Breaks
 * of links or content are left to the append's planner, which names them precisely.
 */
export function batchSignatureProblem(
  events: AuditEvent[],
  enrolled: EnrolledStation,
): { seq: number; reason: string } | undefined {
  // Only batch summaries carry signatures: a chunk without one costs nothing more here.
  if (!events.some((e) => e.step === 'batch-close')) return undefined;
  const checker = new ChainChecker({ trustedKeyIds: [enrolled.keyId] });
  for (const e of events) {
    // The key id is a short hash of the key: the embedded key itself must be the one enrolled.
    if (e.step === 'batch-close' && (e.data as Partial<BatchCloseData> | undefined)?.publicKey !== enrolled.publicKey)
      return {
        seq: e.seq,
        reason: `batch ${e.batchId ?? '?'} is signed by a key other than the one enrolled (${enrolled.keyId})`,
      };
    checker.push(e);
    if (checker.done) break;
  }
  const v = checker.finish();
  if (v.ok) return undefined;
  const i = events.findIndex((e) => e.seq === v.brokenAt);
  const e = events[i];
  if (e?.step !== 'batch-close') return undefined;
  let intact = false;
  try {
    intact = hashBody(bodyOfEvent(e)) === e.hash && (i === 0 || events[i - 1].hash === e.prevHash);
  } catch {}
  return intact ? { seq: e.seq, reason: v.reason } : undefined;
}

export class AuditChainError extends PairingError {
  declare readonly code: ImportErrorCode;
  readonly seq: number;
  readonly refusal: ChainRefusal;
  /** What this core holds of the station's chain (the sender resumes after it). */
  readonly acceptedUpTo: number;

  constructor(refusal: ChainRefusal, seq: number, acceptedUpTo: number, message: string) {
    super(CHAIN_CODE[refusal], { message });
    this.name = 'AuditChainError';
    this.seq = seq;
    this.refusal = refusal;
    this.acceptedUpTo = acceptedUpTo;
  }
}

/** What a caller asks the central audit: the store's filter, with a default limit. With `station`,
 * `fromSeq`/`toSeq` are how a verifier pages through one station's chain. */
export type CentralAuditQuery = Omit<CentralEventFilter, 'limit'> & { limit?: number };

export const MAX_CENTRAL_QUERY_LIMIT = 10_000;

/** A query the caller got wrong: per-field messages under `query`. */
function badQuery(message: string): PairingError {
  return new PairingError('VALIDATION', { message, fields: { query: [message] } });
}

function isoOrThrow(name: string, v: string): string {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw badQuery(`${name} is not a date/time`);
  return d.toISOString();
}

const STRING_FIELDS = ['ts', 'station', 'step', 'outcome', 'deviceId', 'hardwareSerial', 'batchId', 'operator'] as const;

function hasStringFields(e: AuditEvent): boolean {
  return STRING_FIELDS.every((f) => e[f] === undefined || typeof e[f] === 'string');
}

const STORED_PAGE = 5000;

export class CentralAudit {
  readonly #ext: PairingCoreExtension;
  readonly #stations: StationRegistry;

  constructor(ext: PairingCoreExtension, stations: StationRegistry) {
    this.#ext = ext;
    this.#stations = stations;
  }

  async head(realm: string, station: string): Promise<ChainHead> {
    await this.#ext.realm(realm);
    checkStationName(station);
    return (await this.#ext.store.centralAudit.head(realm, station)) ?? { station, lastSeq: 0, lastHash: GENESIS_HASH };
  }

  async heads(realm: string): Promise<ChainHead[]> {
    await this.#ext.realm(realm);
    return this.#ext.store.centralAudit.heads(realm);
  }

  /**
   * Append a station's events (ascending seq, starting anywhere at or before the stored head + 1).
   * All or nothing: a refused request stores none of its events and says where the chain broke.
   */
  async importEvents(realm: string, station: string, events: AuditEvent[]): Promise<ChainHead> {
    await this.#ext.realm(realm);
    checkStationName(station);
    const enrolled = await this.#stations.requireEnrolled(realm, station, 'audit');
    try {
      const held = await this.#batchesBegunBefore(realm, station, events);
      const bad = batchSignatureProblem([...held, ...events], enrolled);
      if (bad) {
        const held = await this.#ext.store.centralAudit.head(realm, station);
        throw new AuditChainError('bad-signature', bad.seq, held?.lastSeq ?? 0, `event ${bad.seq}: ${bad.reason}`);
      }
      return await this.#append(realm, station, events);
    } catch (e) {
      if (e instanceof AuditChainError)
        await this.#stations.refused(realm, station, 'audit', e, { seq: e.seq, refusal: e.refusal });
      throw e;
    }
  }

  /**
   * The stored events from the opening of each batch this request closes, up to the request: with them
   * the verifier recounts the whole batch against its signed summary, so events forged into earlier
   * requests (a chain re-hashed between summaries) are caught when the batch closes.
   */
  async #batchesBegunBefore(realm: string, station: string, events: AuditEvent[]): Promise<AuditEvent[]> {
    const first = events[0]?.seq;
    if (!Number.isSafeInteger(first) || first <= 1) return [];
    const inRequest = new Set(events.filter((e) => e.step === 'batch-open').map((e) => e.batchId));
    const closed = [...new Set(events.filter((e) => e.step === 'batch-close' && e.batchId).map((e) => e.batchId as string))];
    let from = first;
    for (const batchId of closed.filter((b) => !inRequest.has(b))) {
      const [open] = await this.#ext.store.centralAudit.query(realm, { station, batchId, step: 'batch-open', limit: 1 });
      const seq = open && (JSON.parse(open.body) as { seq?: unknown }).seq;
      if (typeof seq === 'number' && seq < from) from = seq;
    }
    const out: AuditEvent[] = [];
    while (from < first) {
      const rows = await this.#ext.store.centralAudit.events(realm, station, from, Math.min(STORED_PAGE, first - from));
      if (rows.length === 0) break;
      for (const r of rows) out.push(eventOf(r));
      from += rows.length;
    }
    return out;
  }

  async #append(realm: string, station: string, events: AuditEvent[]): Promise<ChainHead> {
    // Hashes are recomputed outside the write transaction (the expensive part), checked inside.
    const bodies = events.map((e) => {
      try {
        return bodyOfEvent(e);
      } catch {
        return undefined;
      }
    });
    const seqs = events.map((e) => e.seq);
    const now = this.#ext.now().toISOString();
    return this.#ext.store.centralAudit.append(
      realm,
      station,
      seqs,
      (stored, storedHash) => {
        let lastSeq = stored?.lastSeq ?? 0;
        let lastHash = stored?.lastHash ?? GENESIS_HASH;
        const accepted = lastSeq;
        const rows: CentralEventRow[] = [];
        const refuse = (refusal: ChainRefusal, seq: number, message: string): never => {
          throw new AuditChainError(refusal, seq, accepted, message);
        };
        events.forEach((e, i) => {
          const seq = e.seq;
          if (!Number.isSafeInteger(seq) || seq < 1) refuse('malformed', lastSeq + 1, `event #${i + 1} has no valid seq`);
          if (seq <= lastSeq) {
            // Already received: it must be the very same event.
            const have = seq === lastSeq ? lastHash : storedHash(seq);
            const body = bodies[i];
            if (have !== e.hash || body === undefined || hashBody(body) !== e.hash)
              refuse('differs', seq, `event ${seq} differs from the one already received from station ${station}`);
            return;
          }
          if (seq !== lastSeq + 1)
            refuse('gap', lastSeq + 1, `seq gap: event ${lastSeq + 1} is missing (event ${lastSeq} is followed by ${seq})`);
          const body = bodies[i];
          if (body === undefined || !hasStringFields(e)) refuse('malformed', seq, `malformed event ${seq}`);
          if (e.prevHash !== lastHash)
            refuse('broken-link', seq, `prevHash mismatch: event ${seq} does not link to event ${seq - 1}`);
          if (hashBody(body as string) !== e.hash)
            refuse('tampered', seq, `hash mismatch: the content of event ${seq} was changed`);
          // The body was made from these very fields (bodyOfEvent), so the columns cannot disagree with it.
          rows.push({
            seq,
            hash: e.hash,
            body: body as string,
            ts: e.ts,
            deviceId: e.deviceId ?? null,
            hardwareSerial: e.hardwareSerial ?? null,
            batchId: e.batchId ?? null,
            operator: e.operator ?? null,
            step: e.step,
            outcome: e.outcome,
          });
          lastSeq = seq;
          lastHash = e.hash;
        });
        return { rows, head: { station, lastSeq, lastHash } };
      },
      now,
    );
  }

  /** Events across stations, newest first (by time, then station and seq). */
  async query(realm: string, q: CentralAuditQuery = {}): Promise<AuditEvent[]> {
    return this.#rows(realm, q, checkedLimit(q.limit));
  }

  /** One page of `query` (newest first) and the cursor of the next, when there is one. */
  async queryPage(
    realm: string,
    q: CentralAuditQuery & { cursor?: string },
  ): Promise<{ events: AuditEvent[]; nextCursor?: string }> {
    const { cursor, ...rest } = q;
    const limit = checkedLimit(q.limit);
    const after = cursor === undefined ? undefined : keyOfCursor(cursor);
    // One more than the page: whether older events match.
    const rows = await this.#rows(realm, { ...rest, after }, limit + 1);
    const events = rows.slice(0, limit);
    const last = events.at(-1);
    return rows.length > limit && last ? { events, nextCursor: cursorOf(last) } : { events };
  }

  async #rows(realm: string, q: CentralAuditQuery, limit: number): Promise<AuditEvent[]> {
    await this.#ext.realm(realm);
    const rows = await this.#ext.store.centralAudit.query(realm, {
      ...q,
      from: q.from ? isoOrThrow('from', q.from) : undefined,
      to: q.to ? isoOrThrow('to', q.to) : undefined,
      limit,
    });
    return rows.map(eventOf);
  }
}

function checkedLimit(limit = 100): number {
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CENTRAL_QUERY_LIMIT)
    throw badQuery(`limit must be an integer from 1 to ${MAX_CENTRAL_QUERY_LIMIT}`);
  return limit;
}

/** An opaque cursor: the last event's place in the order, base64url JSON. */
function cursorOf(e: AuditEvent): string {
  return Buffer.from(JSON.stringify([e.ts, e.station, e.seq])).toString('base64url');
}

function keyOfCursor(cursor: string): CentralEventKey {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badQuery('cursor is not one this core gave');
  }
  if (!Array.isArray(v) || v.length !== 3 || typeof v[0] !== 'string' || typeof v[1] !== 'string' || !Number.isSafeInteger(v[2]))
    throw badQuery('cursor is not one this core gave');
  return { ts: v[0], station: v[1], seq: v[2] };
}
