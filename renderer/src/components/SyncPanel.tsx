// Offline batches and sync (docs/sync.md): what is left to push to the remote pairing core, a button
// to push it now, and the conflicts QA must resolve (the remote kept its own registration).
import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { StationApi, StationStatus, SyncStatus } from '../api-types.ts';

export function SyncPanel({ api, status }: { api: StationApi; status: StationStatus }) {
  const [sync, setSync] = useState<SyncStatus>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const refresh = useCallback(() => {
    api.syncStatus().then(setSync, (e) => setError(errorText(e)));
  }, [api]);
  // Refreshed when the station's pairing state changes (offline → back online).
  const pairingState = `${status.pairing.offline}/${status.pairing.reachable}`;
  useEffect(() => {
    if (pairingState) refresh();
  }, [refresh, pairingState]);

  const syncNow = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setSync(await api.sync());
    } catch (e) {
      setError(errorText(e));
      refresh();
    } finally {
      setBusy(false);
    }
  };

  if (!sync) return null;
  const last = sync.lastSync;
  return (
    <section className="panel sync-panel" aria-label="Sync with the remote pairing core" data-testid="sync-panel">
      <header className="row">
        <h2>Sync {sync.remote ? `with ${sync.remote}` : '(no remote pairing core configured)'}</h2>
        <button
          type="button"
          className="btn btn-primary"
          data-testid="sync-now"
          disabled={busy || !sync.remote}
          onClick={syncNow}
        >
          {busy ? 'Syncing…' : 'Sync now'}
        </button>
      </header>
      <p data-testid="sync-pending">
        To push: {sync.pendingDevices} offline registrations, {sync.pendingEvents} audit events.
        {last
          ? ` Last sync ${last.at.slice(0, 19).replace('T', ' ')} UTC: ${last.imported} imported, ${last.alreadyPresent} already present, ${last.conflicts} conflicts, ${last.eventsSent} events sent.`
          : ' Never synced.'}
      </p>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {sync.conflicts.length > 0 && (
        <>
          <h3>Conflicts ({sync.conflicts.length}): not overwritten on the remote core</h3>
          <p>{sync.advice}</p>
          <table className="events" data-testid="sync-conflicts">
            <thead>
              <tr>
                <th>Device</th>
                <th>Batch</th>
                <th>Reason</th>
                <th>Seen</th>
              </tr>
            </thead>
            <tbody>
              {sync.conflicts.map((c) => (
                <tr key={`${c.remote} ${c.deviceId}`}>
                  <td className="mono">{c.deviceId}</td>
                  <td className="mono nowrap" title={c.batch}>
                    {c.batch ? `${c.batch.slice(0, 8)}…` : ''}
                  </td>
                  <td>{c.reason}</td>
                  <td className="mono nowrap">{c.at.slice(0, 19).replace('T', ' ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
