// The pairing core the station registers with: the embedded core in the data folder itself (the
// same layout as `imprint pairing … --data DIR`, so the pairing CLI sees the station's devices;
// its realm is created on first run with a fresh EC P-256 realm key kept 0600 in
// `<data>/realm-keys/`), or a remote core over HTTP with an agent token.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImprintError } from '../common/errors.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import { RemotePairingClient } from '../pairing/remote-client.ts';
import { ConnectivityProbe } from '../sync/connectivity-probe.ts';
import { FallbackPairingClient } from '../sync/offline-policy.ts';
import { SyncState, syncStateFile } from '../sync/sync-state.ts';
import type { StationConfig } from './station-config.ts';

export function embeddedCoreDir(dataDir: string): string {
  return dataDir;
}

/** Where the embedded realm's private key lives (used to mint agent tokens for other tools). */
export function realmKeyFile(dataDir: string, realm: string): string {
  return join(embeddedCoreDir(dataDir), 'realm-keys', `${realm}.pem`);
}

/** Create the realm in the embedded core if it does not exist yet. */
export async function ensureEmbeddedRealm(core: EmbeddedPairingCore, dataDir: string, config: StationConfig): Promise<void> {
  if (core.getRealm(config.realm)) return;
  const keyFile = realmKeyFile(dataDir, config.realm);
  if (existsSync(keyFile)) {
    throw new ImprintError('REALM_KEY_ORPHANED', `A key for realm ${config.realm} exists but the realm does not`, {
      hint: `Restore the embedded core's database or move ${keyFile} away`,
    });
  }
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  ensurePrivateDir(join(embeddedCoreDir(dataDir), 'realm-keys'));
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await core.createRealm({
    name: config.realm,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    brokerUrl: config.brokerUrl,
    deviceIdNamespace: config.deviceIdRule.kind === 'uuidv5' ? config.deviceIdRule.namespace : undefined,
  });
}

async function openEmbedded(dataDir: string, config: StationConfig): Promise<EmbeddedPairingCore> {
  const core = await EmbeddedPairingCore.open({ dataDir: embeddedCoreDir(dataDir), defaultBrokerUrl: config.brokerUrl });
  try {
    await ensureEmbeddedRealm(core, dataDir, config);
  } catch (e) {
    await core.close();
    throw e;
  }
  return core;
}

export async function openPairing(opts: { dataDir: string; config: StationConfig; agentToken?: string }): Promise<PairingClient> {
  const { config } = opts;
  if (config.pairing.mode === 'embedded') return openEmbedded(opts.dataDir, config);
  if (!config.pairing.url) throw new ImprintError('BAD_CONFIG', 'pairing.url is required for a remote pairing core');
  if (!opts.agentToken) {
    throw new ImprintError('AGENT_TOKEN_MISSING', 'A remote pairing core needs an agent token', {
      hint: 'Pass --agent-token or set IMPRINT_AGENT_TOKEN (plant IT mints it for the realm)',
    });
  }
  if (config.pairing.mode !== 'remote-with-offline-fallback') {
    return new RemotePairingClient({ baseUrl: config.pairing.url, agentToken: opts.agentToken });
  }
  // Offline fallback (src/sync/offline-policy.ts): short timeouts so an outage never stalls the line.
  const remote = new RemotePairingClient({
    baseUrl: config.pairing.url,
    agentToken: opts.agentToken,
    timeoutMs: 3000,
    retries: 1,
  });
  const embedded = await openEmbedded(opts.dataDir, config);
  const state = SyncState.open(syncStateFile(opts.dataDir));
  const probe = new ConnectivityProbe({ url: remote.url });
  const client = new FallbackPairingClient({ remote, embedded, probe, state, stationId: config.stationId });
  // Know the state before the first device (the station's status shows it); never blocks opening.
  void client.refresh().catch(() => {});
  return client;
}
