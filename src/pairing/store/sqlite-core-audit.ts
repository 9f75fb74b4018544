// The core's own audit chain on SQLite (migration 008): rows of the pairing database, sealed inside
// the write transaction of the request they record (a claim, a /sign), so a request costs one
// durable commit and a registration is never committed without its event. Events recorded alone (a
// refusal, a token minted) go through the same group commit. Sealing exactly as the audit trail
// seals its events (canonical body, SHA-256 chain from GENESIS_HASH), so the chain verifies the same.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bodyOfEvent, sealEvent } from '../../audit/audit-canonical.ts';
import { normalizeInput } from '../../audit/audit-event-schema.ts';
import { AuditTrail } from '../../audit/audit-trail.ts';
import type { AuditEvent, AuditEventInput, ChainStatus } from '../../audit/audit-types.ts';
import { GENESIS_HASH, hashBody } from '../../audit/chain-link.ts';
import { openSqlite, type SqliteDatabase, type SqliteWriter } from '../../db/sqlite.ts';
import { type CoreAuditSink, type CoreEvent, PAIRING_CORE_STATION } from '../core-audit.ts';
import { type CoreChainRow, coreChainRowOf, verifyCoreChain } from './core-chain-verify.ts';
import { StoreError } from './store-errors.ts';

export type { CoreChainRow } from './core-chain-verify.ts';

/** Where an earlier version kept the core's events, in the data directory. */
export const LEGACY_CORE_TRAIL = 'audit.db';

interface HeadRow {
  last_seq: number;
  last_hash: string;
  origin: string;
  carried_up_to: number;
}

const PAGE = 1000;

function prepare(db: SqliteDatabase) {
  return {
    head: db.prepare<[], HeadRow>('SELECT last_seq, last_hash, origin, carried_up_to FROM core_audit_head WHERE id = 1'),
    insert: db.prepare(
      `INSERT INTO core_audit_events (seq, hash, body, ts, device_id, hardware_serial, operator, step, outcome)
         VALUES (@seq, @hash, @body, @ts, @device_id, @hardware_serial, @operator, @step, @outcome)`,
    ),
    setHead: db.prepare('UPDATE core_audit_head SET last_seq = ?, last_hash = ? WHERE id = 1'),
    page: db.prepare<[number, number], CoreChainRow>('SELECT * FROM core_audit_events WHERE seq >= ? ORDER BY seq LIMIT ?'),
  };
}

export class SqliteCoreAudit implements CoreAuditSink {
  readonly stationId = PAIRING_CORE_STATION;
  /** Events of this sink's store's writes are sealed in those writes (CoreAudit.sealedBy). */
  readonly sealsInWrites = true;
  readonly #writer: SqliteWriter;
  readonly #db: SqliteDatabase;
  #statements: ReturnType<typeof prepare> | undefined;

  constructor(db: SqliteDatabase, writer: SqliteWriter) {
    this.#db = db;
    this.#writer = writer;
  }

  // Prepared on first use: a store opened at an older schema (tests of upgrades) has no such tables.
  get #s(): ReturnType<typeof prepare> {
    this.#statements ??= prepare(this.#db);
    return this.#statements;
  }

  /**
   * Seals `e` into the chain now: call only inside a write of this store's writer (the head is read
   * and moved in that transaction, so concurrent writers, in any process, never fork the chain).
   */
  sealInWrite(e: CoreEvent): AuditEvent {
    const head = this.#s.head.get();
    if (!head) throw new Error('core_audit_head is missing: the store was not opened through SqlitePairingStore.open');
    const input = normalizeInput({ station: this.stationId, ...e } as AuditEventInput);
    const { event, body } = sealEvent(input, head.last_seq + 1, new Date().toISOString(), head.last_hash);
    this.#s.insert.run(coreChainRowOf(event, body));
    this.#s.setHead.run(event.seq, event.hash);
    return event;
  }

  append(e: AuditEventInput): Promise<AuditEvent> {
    const { station: _station, ...rest } = e;
    return this.#writer.write(() => this.sealInWrite(rest));
  }

  /** The chain from `fromSeq` on, in order (checks, copies). */
  events(fromSeq = 1, limit = PAGE): CoreChainRow[] {
    return this.#s.page.all(fromSeq, limit);
  }

  head(): HeadRow | undefined {
    return this.#s.head.get();
  }

  /** The whole chain checked: links, hashes, canonical bodies, columns against bodies, the head. */
  verify(): Promise<ChainStatus> {
    return verifyCoreChain((from) => this.events(from), this.head());
  }

  /** The store closes the writer (and commits what is queued). */
  close(): void {}
}

/**
 * Once, when the store first opens at the version that moved the chain here: the events an earlier
 * version appended to `<dataDir>/audit.db` (station "pairing-core") are carried over verbatim after
 * that trail verifies (hash chain, checkpoint), so the chain here continues them and one check covers
 * all. audit.db itself is left as it was. A station's data directory (its own trail) carries nothing.
 * Throws StoreError CORE_AUDIT_NOT_CARRIED when the old trail does not verify.
 */
export function carryOverCoreTrail(db: SqliteDatabase, dataDir: string): void {
  if (db.prepare('SELECT 1 FROM core_audit_head WHERE id = 1').get()) return;
  const file = join(dataDir, LEGACY_CORE_TRAIL);
  let rows: CoreChainRow[] = [];
  if (existsSync(file)) {
    try {
      rows = legacyCoreEvents(file);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError('CORE_AUDIT_NOT_CARRIED', `${file}: ${(e as Error).message}`, { cause: e });
    }
  }
  const last = rows.at(-1);
  const insert = db.prepare(
    `INSERT INTO core_audit_events (seq, hash, body, ts, device_id, hardware_serial, operator, step, outcome)
     VALUES (@seq, @hash, @body, @ts, @device_id, @hardware_serial, @operator, @step, @outcome)`,
  );
  db.transaction(() => {
    // Another process may have done it meanwhile (the transaction is IMMEDIATE: re-checked under the lock).
    if (db.prepare('SELECT 1 FROM core_audit_head WHERE id = 1').get()) return;
    for (const r of rows) insert.run(r);
    db.prepare('INSERT INTO core_audit_head (id, last_seq, last_hash, origin, carried_up_to) VALUES (1, ?, ?, ?, ?)').run(
      last?.seq ?? 0,
      last?.hash ?? GENESIS_HASH,
      last ? LEGACY_CORE_TRAIL : 'new',
      last?.seq ?? 0,
    );
  }).immediate();
}

/**
 * The core chain of a pairing.sqlite file, verified read-only (`imprint audit verify --data`), or
 * undefined when the file holds none yet (a schema before migration 008).
 */
export async function verifyCoreChainFile(file: string): Promise<ChainStatus | undefined> {
  const db = openSqlite(file, { readonly: true });
  try {
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'core_audit_head'").get()) return undefined;
    const s = prepare(db);
    // One read transaction: the head and the rows of one snapshot while a core appends.
    db.exec('BEGIN');
    try {
      return await verifyCoreChain((from) => s.page.all(from, PAGE), s.head.get() ?? { last_seq: 0, last_hash: GENESIS_HASH });
    } finally {
      db.exec('COMMIT');
    }
  } finally {
    db.close();
  }
}

/** The core's events in an earlier version's trail file, after the trail verified; none when it is another station's. */
function legacyCoreEvents(file: string): CoreChainRow[] {
  const rows: CoreChainRow[] = [];
  const trail = AuditTrail.open({ file, stationId: PAIRING_CORE_STATION, readonly: true });
  try {
    if (trail.eventsFrom(1, 1)[0]?.station !== PAIRING_CORE_STATION) return rows;
    const status = trail.verify();
    if (!status.ok)
      throw new StoreError('CORE_AUDIT_NOT_CARRIED', `${file}: broken at event ${status.brokenAt}: ${status.reason}`);
    for (let from = 1; ; ) {
      const events = trail.eventsFrom(from, PAGE);
      if (events.length === 0) return rows;
      for (const e of events) {
        if (e.station !== PAIRING_CORE_STATION)
          throw new StoreError('CORE_AUDIT_NOT_CARRIED', `${file}: event ${e.seq} is of station ${e.station}`);
        const body = bodyOfEvent(e);
        if (hashBody(body) !== e.hash)
          throw new StoreError('CORE_AUDIT_NOT_CARRIED', `${file}: event ${e.seq} does not match its hash`);
        rows.push(coreChainRowOf(e, body));
      }
      from = events[events.length - 1].seq + 1;
    }
  } finally {
    trail.close();
  }
}
