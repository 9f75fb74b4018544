// Which pairing store a command uses: `--store postgres://…` (or IMPRINT_PAIRING_STORE) for a
// fleet's shared PostgreSQL, else the embedded SQLite store in the data directory.

import { join } from 'node:path';
import { ensurePrivateDir } from '../../common/private-fs.ts';
import { DbError } from '../../db/db-errors.ts';
import { isPostgresUrl, redactUrl } from '../../db/postgres.ts';
import type { PairingStore } from '../pairing-store.ts';
import { PostgresPairingStore } from './pg-store.ts';
import { PAIRING_SQLITE_FILE, SqlitePairingStore } from './sqlite-store.ts';

export const STORE_ENV = 'IMPRINT_PAIRING_STORE';

export interface StoreChoice {
  /** The data directory: the SQLite store's home, and the keys (ca/, claim-signing-key.pem) in any case. */
  dataDir: string;
  /** A postgres:// URL; without one, the embedded store in `dataDir`. */
  store?: string;
  poolSize?: number;
}

/** For commands: the `--store` flag, else $IMPRINT_PAIRING_STORE, else none (embedded); checked. */
export function storeFromFlag(flag: string | undefined): string | undefined {
  const url = flag ?? process.env[STORE_ENV];
  if (url === undefined || url === '') return undefined;
  if (!isPostgresUrl(url)) throw new DbError('DB_URL_INVALID', `Got "${redactUrl(url)}".`);
  return url;
}

/** A short description for logs and messages: never the password. */
export function describeStore(c: StoreChoice): string {
  return c.store ? redactUrl(c.store) : join(c.dataDir, PAIRING_SQLITE_FILE);
}

export async function openPairingStore(c: StoreChoice): Promise<PairingStore> {
  const url = c.store;
  if (url !== undefined && !isPostgresUrl(url)) throw new DbError('DB_URL_INVALID', `Got "${redactUrl(url)}".`);
  if (url) return PostgresPairingStore.connect({ url, poolSize: c.poolSize });
  ensurePrivateDir(c.dataDir);
  return SqlitePairingStore.open(join(c.dataDir, PAIRING_SQLITE_FILE));
}
