// Child process for the crash test: registers devices forever in concurrent waves and prints
// `<deviceId> <secret>` for each acknowledged registration, until it is killed.
import { generateKeyPairSync } from 'node:crypto';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';

const dataDir = process.argv[2];
const core = await EmbeddedPairingCore.open({ dataDir, store: process.env.IMPRINT_CHILD_STORE || undefined });
const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
await core.createRealm({ name: 'crash', publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }) as string });
let n = 0;
for (let wave = 0; wave < 10_000; wave++) {
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      const id = deriveDeviceId(`crash-${n++}`);
      const { credentialsSecret } = await core.registerDevice('crash', id);
      process.stdout.write(`${id} ${credentialsSecret}\n`);
    }),
  );
}
