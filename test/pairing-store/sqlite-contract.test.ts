// The store contract on the embedded SQLite store: the second "instance" is another connection to
// the same file (as the CLI beside a running core).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { PairingStore } from '../../src/pairing/pairing-store.ts';
import { SqlitePairingStore } from '../../src/pairing/store/sqlite-store.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';
import { type StorePair, storeContract } from './store-contract.ts';

storeContract('sqlite', async () => {
  const dir = makeTempDir('imprint-store-');
  const file = join(dir, 'pairing.sqlite');
  const pair: StorePair & { store: PairingStore; other: PairingStore } = {
    store: SqlitePairingStore.open(file),
    other: SqlitePairingStore.open(file),
    async reopen() {
      await Promise.all([pair.store.close(), pair.other.close()]);
      pair.store = SqlitePairingStore.open(file);
      pair.other = SqlitePairingStore.open(file);
    },
    async cleanup() {
      await Promise.all([pair.store.close(), pair.other.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return pair;
});
