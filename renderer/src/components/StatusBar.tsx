import type { StationStatus } from '../api-types.ts';

function lineState(status: StationStatus, offline: boolean): string {
  if (offline) return `OFFLINE (last known: ${status.running ? 'running' : 'stopped'})`;
  if (status.linePause) return 'PAUSED';
  return status.running ? 'running' : 'stopped';
}

export function StatusBar({ status, offline }: { status: StationStatus; offline: boolean }) {
  const p = status.pairing;
  return (
    <footer className="status-bar" data-testid="status-bar">
      <span>Station {status.stationId}</span>
      <span>Realm {p.realm}</span>
      <span data-testid="status-pairing">
        Pairing: {p.mode}
        {p.url ? ` (${p.url})` : ''} —{' '}
        {p.offline
          ? 'OFFLINE batch'
          : p.reachable
            ? 'reachable'
            : `NOT reachable${p.unreachableReason ? ` (${p.unreachableReason})` : ''}`}
      </span>
      <span data-testid="status-batch">
        Batch: {status.batch ? status.batch.workOrder : 'none open'}
        {status.batch && status.counters.batch
          ? ` — ${status.counters.batch.passed} passed, ${status.counters.batch.failed} failed`
          : ''}
      </span>
      <span data-testid="status-line">Line: {lineState(status, offline)}</span>
    </footer>
  );
}
