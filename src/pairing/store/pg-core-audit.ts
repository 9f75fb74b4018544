// The core's own audit events on PostgreSQL: one hash chain (station "pairing-core") that any
// instance appends to. A batch of events (group commit) is one transaction holding the head row's
// lock, so instances take turns and the chain never forks; each event is sealed (seq, prevHash,
// hash) inside that transaction, exactly as the SQLite trail seals its events.
import { sealEvent } from '../../audit/audit-canonical.ts';
import { normalizeInput } from '../../audit/audit-event-schema.ts';
import type { AuditEvent, AuditEventInput } from '../../audit/audit-types.ts';
import { GENESIS_HASH } from '../../audit/chain-link.ts';
import { GroupCommit } from '../../db/group-commit.ts';
import { asUnavailable, inTransaction, type Sql } from '../../db/postgres.ts';
import { type CoreAuditSink, PAIRING_CORE_STATION } from '../core-audit.ts';
import { coreChainRowOf } from './core-chain-verify.ts';

/** 9 columns a row, under PostgreSQL's 65,535 parameters a statement. */
const ROWS_PER_INSERT = 5000;

interface Job {
  input: AuditEventInput;
  ts: string;
  resolve: (e: AuditEvent) => void;
  reject: (e: unknown) => void;
}

export class PgCoreAudit implements CoreAuditSink {
  readonly stationId = PAIRING_CORE_STATION;
  readonly #sql: Sql;
  readonly #queue: GroupCommit<Job>;

  constructor(sql: Sql) {
    this.#sql = sql;
    this.#queue = new GroupCommit((jobs) => this.#commit(jobs));
  }

  append(e: AuditEventInput): Promise<AuditEvent> {
    try {
      const input = normalizeInput(e);
      return new Promise((resolve, reject) => this.#queue.add({ input, ts: new Date().toISOString(), resolve, reject }));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The chain from `fromSeq` on, in order (for checks and copies). */
  async events(fromSeq = 1, limit = 1000): Promise<{ seq: number; hash: string; body: string }[]> {
    return this.#sql<{ seq: number; hash: string; body: string }[]>`
      SELECT seq, hash, body FROM core_audit_events WHERE seq >= ${fromSeq} ORDER BY seq LIMIT ${limit}`;
  }

  async #commit(jobs: Job[]): Promise<void> {
    try {
      const sealed = await inTransaction(this.#sql, async (tx) => {
        await tx`INSERT INTO core_audit_head (id, last_seq, last_hash) VALUES (true, 0, ${GENESIS_HASH}) ON CONFLICT DO NOTHING`;
        const [head] = await tx<{ last_seq: number; last_hash: string }[]>`
          SELECT last_seq, last_hash FROM core_audit_head WHERE id FOR UPDATE`;
        let seq = head.last_seq;
        let prev = head.last_hash;
        const events: AuditEvent[] = [];
        const rows = jobs.map((j) => {
          // A copy per attempt: a re-run transaction seals again from the head it then reads.
          const { event, body } = sealEvent({ ...j.input }, ++seq, j.ts, prev);
          prev = event.hash;
          events.push(event);
          return coreChainRowOf(event, body);
        });
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT)
          await tx`INSERT INTO core_audit_events ${tx(rows.slice(i, i + ROWS_PER_INSERT))}`;
        await tx`UPDATE core_audit_head SET last_seq = ${seq}, last_hash = ${prev} WHERE id`;
        return events;
      });
      jobs.forEach((j, i) => {
        j.resolve(sealed[i]);
      });
    } catch (e) {
      const err = asUnavailable(e, 'core audit');
      for (const j of jobs) j.reject(err);
    }
  }

  /** Commits what is queued. */
  async close(): Promise<void> {
    await this.#queue.drain();
  }
}
