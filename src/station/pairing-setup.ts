// The pairing core the station registers with: the embedded core in the data folder itself (the
// same layout as `imprint pairing … --data DIR`, so the pairing CLI sees the station's devices;
// its realm is created on first run with a fresh EC P-256 realm key kept 0600 in
// `<data>/realm-keys/`), or a remote core over HTTP with an agent token.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { EmbeddedPairingCore } from '../pairing/embedded-core.ts';
import type { PairingClient } from '../pairing/pairing-api.ts';
import { RemotePairingClient } from '../pairing/remote-client.ts';
import type { StationConfig } from './station-config.ts';
import { StationError } from './station-errors.ts';

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
    throw new StationError('REALM_KEY_ORPHANED', `realm ${config.realm}, key ${keyFile}`);
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

export async function openEmbeddedPairing(dataDir: string, config: StationConfig): Promise<EmbeddedPairingCore> {
  const core = await EmbeddedPairingCore.open({ dataDir: embeddedCoreDir(dataDir), defaultBrokerUrl: config.brokerUrl });
  try {
    await ensureEmbeddedRealm(core, dataDir, config);
  } catch (e) {
    await core.close();
    throw e;
  }
  return core;
}

/**
 * How the station registers while its remote core does not answer (`remote-with-offline-fallback`):
 * a policy of src/sync, assembled with the application (src/api/pairing-policy.ts) and handed to
 * the station, which never builds one itself.
 */
export type OfflinePolicy = (parts: {
  dataDir: string;
  config: StationConfig;
  /** The remote core, with short timeouts so an outage never stalls the line. */
  remote: RemotePairingClient;
  agentToken: string;
  openEmbedded: () => Promise<EmbeddedPairingCore>;
}) => Promise<PairingClient>;

export interface OpenPairingOptions {
  dataDir: string;
  config: StationConfig;
  agentToken?: string;
  offlinePolicy?: OfflinePolicy;
}

export async function openPairing(opts: OpenPairingOptions): Promise<PairingClient> {
  const { config } = opts;
  if (config.pairing.mode === 'embedded') return openEmbeddedPairing(opts.dataDir, config);
  if (!config.pairing.url) throw new StationError('BAD_CONFIG', 'pairing.url is required for a remote pairing core');
  if (!opts.agentToken) {
    throw new StationError('AGENT_TOKEN_MISSING');
  }
  if (config.pairing.mode !== 'remote-with-offline-fallback') {
    // `remote` and `deferred` alike: while the core does not answer nothing is registered; the line
    // (remote) or the device in its fixture (deferred) waits for it (line-gate.ts).
    return new RemotePairingClient({ baseUrl: config.pairing.url, agentToken: opts.agentToken });
  }
  if (!opts.offlinePolicy) {
    throw new StationError(
      'BAD_CONFIG',
      'remote-with-offline-fallback needs the offline policy of the imprint command or the station API',
    );
  }
  const remote = new RemotePairingClient({
    baseUrl: config.pairing.url,
    agentToken: opts.agentToken,
    timeoutMs: 3000,
    retries: 1,
  });
  return opts.offlinePolicy({
    dataDir: opts.dataDir,
    config,
    remote,
    agentToken: opts.agentToken,
    openEmbedded: () => openEmbeddedPairing(opts.dataDir, config),
  });
}
