// `imprint pairing store verify-audit`: the core's own audit chain checked where the store keeps it
// (SQLite: pairing.sqlite, migration 008; PostgreSQL: core_audit_events), with its head, by the one
// verifier of core-chain-verify.ts.
import type { ChainStatus } from '../../audit/audit-types.ts';
import type { PairingStore } from '../pairing-store.ts';
import { verifyPgCoreAuditChain } from './pg-core-audit-verify.ts';
import { PostgresPairingStore } from './pg-store.ts';
import { SqliteCoreAudit } from './sqlite-core-audit.ts';

export async function verifyStoreCoreChain(store: PairingStore): Promise<ChainStatus> {
  if (store.coreAudit instanceof SqliteCoreAudit) return store.coreAudit.verify();
  if (store instanceof PostgresPairingStore) return verifyPgCoreAuditChain(store.sql);
  return { ok: false, events: 0, brokenAt: 1, reason: 'this store keeps no core audit chain' };
}
