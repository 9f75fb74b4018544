// The central audit store on the remote core: every station's hash chain, appended in order and
// verified on arrival (contiguous seq, each event linked to the previous one, each hash recomputed
// from the canonical body), and queries across stations. Re-sending accepted events is harmless.
import type { Database, Statement } from 'better-sqlite3';
import { bodyOfEvent } from '../../audit/audit-canonical.ts';
import type { AuditEvent, AuditOutcome } from '../../audit/audit-types.ts';
import { GENESIS_HASH, hashBody } from '../../audit/chain-link.mjs';
import { ImprintError } from '../../common/errors.ts';
import type { PairingCoreExtension } from '../embedded-core.ts';
import { checkStationName } from './import-service.ts';

export interface ChainHead {
  station: string;
  lastSeq: number;
  lastHash: string;
}

/** Why an import was refused, and where: nothing of the request was stored. */
export type ChainRefusal = 'gap' | 'broken-link' | 'tampered' | 'differs' | 'malformed';

export class AuditChainError extends ImprintError {
  readonly seq: number;
  readonly refusal: ChainRefusal;
  /** What this core holds of the station's chain (the sender resumes after it). */
  readonly acceptedUpTo: number;

  constructor(refusal: ChainRefusal, seq: number, acceptedUpTo: number, message: string) {
    super('AUDIT_CHAIN_REFUSED', message, { details: { seq, refusal, acceptedUpTo } });
    this.name = 'AuditChainError';
    this.seq = seq;
    this.refusal = refusal;
    this.acceptedUpTo = acceptedUpTo;
  }

  /** A gap or a different copy of an accepted event is a conflict with the stored chain (409); the rest is invalid content (422). */
  get status(): number {
    return this.refusal === 'gap' || this.refusal === 'differs' ? 409 : 422;
  }
}

export interface CentralAuditQuery {
  station?: string;
  deviceId?: string;
  hardwareSerial?: string;
  batchId?: string;
  operator?: string;
  step?: string;
  outcome?: AuditOutcome;
  from?: string;
  to?: string;
  limit?: number;
}

export const MAX_CENTRAL_QUERY_LIMIT = 10_000;

const QUERY_COLUMNS: [keyof CentralAuditQuery, string][] = [
  ['station', 'station'],
  ['deviceId', 'device_id'],
  ['hardwareSerial', 'hardware_serial'],
  ['batchId', 'batch_id'],
  ['operator', 'operator'],
  ['step', 'step'],
  ['outcome', 'outcome'],
];

function isoOrThrow(name: string, v: string): string {
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new ImprintError('AUDIT_INVALID_QUERY', `${name} is not a date/time`);
  return d.toISOString();
}

const STRING_FIELDS = ['ts', 'station', 'step', 'outcome', 'deviceId', 'hardwareSerial', 'batchId', 'operator'] as const;

function hasStringFields(e: AuditEvent): boolean {
  return STRING_FIELDS.every((f) => e[f] === undefined || typeof e[f] === 'string');
}

export class CentralAudit {
  readonly #ext: PairingCoreExtension;
  readonly #db: Database;
  readonly #s: {
    head: Statement<[string, string], { last_seq: number; last_hash: string }>;
    hashAt: Statement<[string, string, number], string>;
    insert: Statement;
    putHead: Statement;
    heads: Statement<[string], { station: string; last_seq: number; last_hash: string }>;
  };
  readonly #queries = new Map<string, Statement>();

  constructor(ext: PairingCoreExtension) {
    this.#ext = ext;
    this.#db = ext.prepare((db) => db);
    this.#s = ext.prepare((db: Database) => ({
      head: db.prepare<[string, string], { last_seq: number; last_hash: string }>(
        'SELECT last_seq, last_hash FROM central_audit_heads WHERE realm = ? AND station = ?',
      ),
      hashAt: db
        .prepare<[string, string, number], string>(
          'SELECT hash FROM central_audit_events WHERE realm = ? AND station = ? AND seq = ?',
        )
        .pluck(),
      insert: db.prepare(
        `INSERT INTO central_audit_events (realm, station, seq, hash, body, ts, device_id, hardware_serial, batch_id, operator, step, outcome)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      putHead: db.prepare(
        `INSERT INTO central_audit_heads (realm, station, last_seq, last_hash, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (realm, station) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash,
           updated_at = excluded.updated_at`,
      ),
      heads: db.prepare<[string], { station: string; last_seq: number; last_hash: string }>(
        'SELECT station, last_seq, last_hash FROM central_audit_heads WHERE realm = ? ORDER BY station',
      ),
    }));
  }

  head(realm: string, station: string): ChainHead {
    this.#ext.realm(realm);
    checkStationName(station);
    const h = this.#s.head.get(realm, station);
    return { station, lastSeq: h?.last_seq ?? 0, lastHash: h?.last_hash ?? GENESIS_HASH };
  }

  heads(realm: string): ChainHead[] {
    this.#ext.realm(realm);
    return this.#s.heads.all(realm).map((h) => ({ station: h.station, lastSeq: h.last_seq, lastHash: h.last_hash }));
  }

  /**
   * Append a station's events (ascending seq, starting anywhere at or before the stored head + 1).
   * All or nothing: a refused request stores none of its events and says where the chain broke.
   */
  async importEvents(realm: string, station: string, events: AuditEvent[]): Promise<ChainHead> {
    this.#ext.realm(realm);
    checkStationName(station);
    // Hashes are recomputed outside the write transaction (the expensive part), checked inside.
    const bodies = events.map((e) => {
      try {
        return bodyOfEvent(e);
      } catch {
        return undefined;
      }
    });
    const now = this.#ext.now().toISOString();
    return this.#ext.write(() => {
      const stored = this.#s.head.get(realm, station);
      let lastSeq = stored?.last_seq ?? 0;
      let lastHash = stored?.last_hash ?? GENESIS_HASH;
      const accepted = lastSeq;
      const refuse = (refusal: ChainRefusal, seq: number, message: string): never => {
        throw new AuditChainError(refusal, seq, accepted, message);
      };
      events.forEach((e, i) => {
        const seq = e.seq;
        if (!Number.isSafeInteger(seq) || seq < 1) refuse('malformed', lastSeq + 1, `event #${i + 1} has no valid seq`);
        if (seq <= lastSeq) {
          // Already received: it must be the very same event.
          const have = seq === lastSeq ? lastHash : this.#s.hashAt.get(realm, station, seq);
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
        this.#s.insert.run(
          realm,
          station,
          seq,
          e.hash,
          body,
          e.ts,
          e.deviceId ?? null,
          e.hardwareSerial ?? null,
          e.batchId ?? null,
          e.operator ?? null,
          e.step,
          e.outcome,
        );
        lastSeq = seq;
        lastHash = e.hash;
      });
      if (lastSeq !== accepted) this.#s.putHead.run(realm, station, lastSeq, lastHash, now);
      return { station, lastSeq, lastHash };
    });
  }

  /** Events across stations, newest first (by time, then station and seq). */
  query(realm: string, q: CentralAuditQuery = {}): AuditEvent[] {
    this.#ext.realm(realm);
    const where = ['realm = ?'];
    const params: (string | number)[] = [realm];
    for (const [key, col] of QUERY_COLUMNS) {
      const v = q[key];
      if (v === undefined || v === '') continue;
      where.push(`${col} = ?`);
      params.push(String(v));
    }
    if (q.from) {
      where.push('ts >= ?');
      params.push(isoOrThrow('from', q.from));
    }
    if (q.to) {
      where.push('ts <= ?');
      params.push(isoOrThrow('to', q.to));
    }
    const limit = q.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_CENTRAL_QUERY_LIMIT)
      throw new ImprintError('AUDIT_INVALID_QUERY', `limit must be an integer from 1 to ${MAX_CENTRAL_QUERY_LIMIT}`);
    params.push(limit);
    const sql = `SELECT hash, body FROM central_audit_events WHERE ${where.join(' AND ')} ORDER BY ts DESC, station, seq DESC LIMIT ?`;
    let stmt = this.#queries.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#queries.set(sql, stmt);
    }
    return (stmt.all(...params) as { hash: string; body: string }[]).map((r) => {
      const e = JSON.parse(r.body) as AuditEvent & { v?: number };
      delete e.v;
      e.hash = r.hash;
      return e;
    });
  }
}
