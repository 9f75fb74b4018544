import type { StationStatus } from '../../../src/api/station-api.ts';

export function StatusBar({ status }: { status: StationStatus }) {
  const p = status.pairing;
  return (
    <footer className="status-bar">
      <span>Station {status.stationId}</span>
      <span>Realm {p.realm}</span>
      <span>
        Pairing: {p.mode}
        {p.url ? ` (${p.url})` : ''} — {p.offline ? 'OFFLINE batch' : p.reachable ? 'reachable' : 'NOT reachable'}
      </span>
      <span>Batch: {status.batch ? `${status.batch.workOrder} (${status.batch.id})` : 'none open'}</span>
      <span>Line: {status.running ? 'running' : 'stopped'}</span>
    </footer>
  );
}
