// The application's offline policy, assembled here rather than inside the station: for
// `remote-with-offline-fallback`, the remote core with the station's embedded core behind it,
// journalled for `imprint sync` (src/sync/offline-policy.ts). The CLI and the station API hand it
// to Station.open; the station itself knows only the port (src/station/offline-status.ts).
// Never a secret the authority cannot learn: before anything is registered offline the remote core
// must have said it imports offline registrations (src/sync/remote-capabilities.ts), now or, when
// it does not answer, the last time it was asked at this URL and realm (station.json).
import { REACHABILITY_TIMEOUT_MS, type ReachabilityCheckFactory } from '../station/pairing-reachability.ts';
import { type OfflinePolicy, type OpenPairingOptions, openPairing } from '../station/pairing-setup.ts';
import { rememberCapabilities } from '../station/station-config.ts';
import { ConnectivityProbe } from '../sync/connectivity-probe.ts';
import { FallbackPairingClient } from '../sync/offline-policy.ts';
import { offlineVerdict, probeCapabilities, remoteBase } from '../sync/remote-capabilities.ts';
import { SyncError } from '../sync/sync-errors.ts';
import { SyncState, syncStateFile } from '../sync/sync-state.ts';

export const offlineFallback: OfflinePolicy = async ({ dataDir, config, remote, agentToken, openEmbedded }) => {
  const at = { url: remote.url, realm: config.realm };
  const where = `realm ${config.realm} at ${remote.url}`;
  const verdict = offlineVerdict(await probeCapabilities({ ...at, agentToken }), config.pairing.capabilities, at);
  if ('known' in verdict && (!verdict.allowed || verdict.fresh)) {
    config.pairing.capabilities = verdict.known;
    rememberCapabilities(dataDir, verdict.known);
  }
  if (!verdict.allowed) {
    if (verdict.why === 'no-imports') throw new SyncError('OFFLINE_IMPORTS_UNSUPPORTED', where);
    if (verdict.why === 'token-refused') throw new SyncError('REMOTE_TOKEN_REFUSED', `HTTP ${verdict.status}, ${where}`);
    throw new SyncError('OFFLINE_CAPABILITY_UNKNOWN', `${where}: ${verdict.reason}`);
  }
  const embedded = await openEmbedded();
  const state = SyncState.open(syncStateFile(dataDir));
  const probe = new ConnectivityProbe({ url: remote.url });
  const client = new FallbackPairingClient({ remote, embedded, probe, state, stationId: config.stationId });
  // Know the state before the first device (the station's status shows it); never blocks opening.
  void client.refresh().catch(() => {});
  return client;
};

/** The pairing client the station's settings describe, with the application's offline policy. */
export function openStationPairing(opts: Omit<OpenPairingOptions, 'offlinePolicy'>) {
  return openPairing({ ...opts, offlinePolicy: offlineFallback });
}

/** The station's "is the remote core there" check: GET /health, never cached (pairing-reachability.ts). */
export const pairingHealth: ReachabilityCheckFactory = (url) => {
  const probe = new ConnectivityProbe({ url: remoteBase(url), timeoutMs: REACHABILITY_TIMEOUT_MS });
  return () => probe.check({ fresh: true });
};

/**
 * Before settings naming a remote core are saved: does the core refuse the agent token? Asked on
 * an authenticated read (the import capabilities). A core that does not answer is not a refusal:
 * those settings are saved, and the status says the core is not reachable.
 */
export async function checkAgentToken(opts: { url: string; realm: string; agentToken: string }): Promise<void> {
  const probe = await probeCapabilities({ ...opts, timeoutMs: 2000 });
  if (probe.outcome === 'refused') {
    throw new SyncError('REMOTE_TOKEN_REFUSED', `HTTP ${probe.status}, realm ${opts.realm} at ${remoteBase(opts.url)}`);
  }
}
