// The application's offline policy, assembled here rather than inside the station: for
// `remote-with-offline-fallback`, the remote core with the station's embedded core behind it,
// journalled for `imprint sync` (src/sync/offline-policy.ts). The CLI and the station API hand it
// to Station.open; the station itself knows only the port (src/station/offline-status.ts).
import { type OfflinePolicy, type OpenPairingOptions, openPairing } from '../station/pairing-setup.ts';
import { ConnectivityProbe } from '../sync/connectivity-probe.ts';
import { FallbackPairingClient } from '../sync/offline-policy.ts';
import { SyncState, syncStateFile } from '../sync/sync-state.ts';

export const offlineFallback: OfflinePolicy = async ({ dataDir, config, remote, openEmbedded }) => {
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
