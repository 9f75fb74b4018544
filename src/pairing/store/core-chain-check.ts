// `imprint pairing store verify-audit`: the core's own audit chain checked where the store keeps it
// (SQLite: pairing.sqlite, migration 008; PostgreSQL: core_audit_events), with its head.
import type { ChainStatus } from '../../audit/audit-types.ts';
import type { PairingStore } from '../pairing-store.ts';
import { PostgresPairingStore } from './pg-store.ts';
import { SqliteCoreAudit, verifyCoreChain } from './sqlite-core-audit.ts';

const PAGE = 1000;

export async function verifyStoreCoreChain(store: PairingStore): Promise<ChainStatus> {
  if (store.coreAudit instanceof SqliteCoreAudit) return store.coreAudit.verify();
  if (store instanceof PostgresPairingStore) {
    const sql = store.sql;
    const [head] = await sql<{ last_seq: number; last_hash: string }[]>`SELECT last_seq, last_hash FROM core_audit_head WHERE id`;
    return verifyCoreChain(
      (from) => sql`SELECT * FROM core_audit_events WHERE seq >= ${from} ORDER BY seq LIMIT ${PAGE}`,
      head ?? { last_seq: 0, last_hash: '' },
    );
  }
  return { ok: false, events: 0, brokenAt: 1, reason: 'this store keeps no core audit chain' };
}
