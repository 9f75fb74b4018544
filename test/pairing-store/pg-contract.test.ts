// The store contract on PostgreSQL: each test on a fresh schema, the two stores are two pools (what
// two `pairing serve` instances hold). Fails, never skips, without a reachable PostgreSQL.
import type { PairingStore } from '../../src/pairing/pairing-store.ts';
import { PostgresPairingStore } from '../../src/pairing/store/pg-store.ts';
import { freshSchema } from '../helpers/pg-test-db.ts';
import { type StorePair, storeContract } from './store-contract.ts';

storeContract('postgres', async () => {
  const schema = await freshSchema('contract');
  const connect = () => PostgresPairingStore.connect({ url: schema.url, poolSize: 4 });
  const [store, other] = await Promise.all([connect(), connect()]);
  const pair: StorePair & { store: PairingStore; other: PairingStore } = {
    store,
    other,
    async reopen() {
      await Promise.all([pair.store.close(), pair.other.close()]);
      pair.store = await connect();
      pair.other = await connect();
    },
    async cleanup() {
      await Promise.all([pair.store.close(), pair.other.close()]);
      await schema.drop();
    },
  };
  return pair;
});
