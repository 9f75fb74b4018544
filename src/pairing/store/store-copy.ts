// `imprint pairing store copy --from DATA_DIR --to postgres://…`: an embedded core's state moved into
// a fleet's PostgreSQL store, so its devices keep working with their secrets and certificates:
// realms, devices (secret hashes), certificates and revocations, claim tokens and claims, /sign
// records, imports, the central audit, the core's own audit chain, and the fingerprints of its CA
// and claim key (which the fleet's instances must then use). Idempotent: rows already there and
// identical are skipped. All or nothing: any row present with other values is a conflict, reported,
// and nothing is written.
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbError } from '../../db/db-errors.ts';
import { CA_CERT_FILE } from '../ca/ca-key-store.ts';
import { CLAIM_KEY_FILE, ClaimSigningKey } from '../claims/claim-token.ts';
import type { FleetKey } from '../pairing-store.ts';
import { type CoreChainRow, verifyCoreChain } from './core-chain-verify.ts';
import { copyTable, type TableCopy } from './pg-copy.ts';
import { PostgresPairingStore } from './pg-store.ts';
import { COPIED_TABLES, CORE_AUDIT_EVENTS, dumpSqliteStore, type Row } from './sqlite-dump.ts';

export interface CopyReport {
  tables: TableCopy[];
  keys: { name: FleetKey; sha256: string }[];
  /** Why the core's own trail was not copied, when it was not (no longer happens: it is in pairing.sqlite). */
  coreAuditSkipped?: string;
}

const CORE_AUDIT_TABLE = { name: 'core_audit_events', key: ['seq'], intKeys: ['seq'] };

class Conflicts extends Error {}

/** The fingerprints of the keys in `dataDir` that the fleet must share. */
async function keysOf(dataDir: string): Promise<{ name: FleetKey; sha256: string }[]> {
  const keys: { name: FleetKey; sha256: string }[] = [];
  const cert = join(dataDir, 'ca', CA_CERT_FILE);
  if (existsSync(cert)) {
    const der = new X509Certificate(readFileSync(cert)).raw;
    keys.push({ name: 'ca-certificate', sha256: createHash('sha256').update(der).digest('hex') });
  }
  if (existsSync(join(dataDir, CLAIM_KEY_FILE)))
    keys.push({ name: 'claim-signing-key', sha256: (await ClaimSigningKey.loadOrCreate(dataDir)).keyId });
  return keys;
}

/** The core's own chain from the dump (pairing.sqlite, migration 008), verified before it is copied. */
async function coreAuditRows(source: Map<string, Row[]>): Promise<Row[]> {
  const rows = (source.get(CORE_AUDIT_EVENTS) ?? []) as unknown as CoreChainRow[];
  const status = await verifyCoreChain((from) => (from === 1 ? rows : []));
  if (!status.ok)
    throw new DbError('DB_COPY_CONFLICT', `The core's audit chain does not verify: event ${status.brokenAt}: ${status.reason}.`);
  return rows as unknown as Row[];
}

export async function copyEmbeddedStore(o: { fromDir: string; toUrl: string }): Promise<CopyReport> {
  const source = await dumpSqliteStore(o.fromDir);
  const core = { rows: await coreAuditRows(source) };
  const keys = await keysOf(o.fromDir);
  const target = await PostgresPairingStore.connect({ url: o.toUrl, poolSize: 2 });
  try {
    for (const k of keys) {
      const recorded = await target.fleetKey(k.name);
      if (recorded && recorded !== k.sha256)
        throw new DbError('DB_COPY_CONFLICT', `The target's ${k.name} is another one (sha256 ${recorded.slice(0, 16)}…).`);
    }
    const tables: TableCopy[] = [];
    try {
      await target.sql.begin(async (tx) => {
        for (const t of COPIED_TABLES) tables.push(await copyTable(tx, t, source.get(t.name) ?? []));
        const audit = await copyTable(tx, CORE_AUDIT_TABLE, core.rows);
        tables.push(audit);
        const last = core.rows.at(-1);
        if (last)
          await tx`
            INSERT INTO core_audit_head (id, last_seq, last_hash) VALUES (true, ${last.seq as number}, ${last.hash as string})
            ON CONFLICT (id) DO UPDATE SET last_seq = excluded.last_seq, last_hash = excluded.last_hash
            WHERE core_audit_head.last_seq < excluded.last_seq`;
        if (tables.some((t) => t.conflictCount > 0)) throw new Conflicts();
      });
    } catch (e) {
      if (!(e instanceof Conflicts)) throw e;
      const list = tables
        .filter((t) => t.conflictCount > 0)
        .map((t) => `${t.table}: ${t.conflictCount} (${t.conflicts.join(', ')})`);
      throw new DbError('DB_COPY_CONFLICT', `Conflicting rows, by table: ${list.join('; ')}.`, { details: { tables } });
    }
    const now = new Date().toISOString();
    for (const k of keys) await target.adoptKey(k.name, k.sha256, now);
    return { tables, keys };
  } finally {
    await target.close();
  }
}
