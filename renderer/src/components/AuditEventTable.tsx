import type { AuditEvent } from '../../../src/api/station-api.ts';

/** Rows of several stations share seq numbers: a row is its station and seq. */
const rowKey = (e: AuditEvent) => `${e.station}:${e.seq}`;

export function AuditEventTable({
  events,
  selected,
  onSelect,
  showStation = false,
}: {
  events: AuditEvent[];
  selected?: AuditEvent;
  onSelect: (e: AuditEvent) => void;
  /** The station id column (events of every station from the remote core). */
  showStation?: boolean;
}) {
  if (events.length === 0) return <p className="empty">No event matches.</p>;
  return (
    <div className="table-scroll">
      <table className="events" data-testid="audit-results">
        <thead>
          <tr>
            {showStation && <th>Station</th>}
            <th>#</th>
            <th>Time (UTC)</th>
            <th>Step</th>
            <th>Outcome</th>
            <th>Device</th>
            <th>Serial</th>
            <th>Operator</th>
            <th>Batch</th>
            <th>Code</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr
              key={rowKey(e)}
              tabIndex={0}
              className={`outcome-${e.outcome} ${selected && rowKey(selected) === rowKey(e) ? 'selected' : ''}`}
              onClick={() => onSelect(e)}
              onKeyDown={(k) => k.key === 'Enter' && onSelect(e)}
            >
              {showStation && <td className="mono nowrap">{e.station}</td>}
              <td>{e.seq}</td>
              <td className="mono nowrap">{e.ts.slice(0, 19).replace('T', ' ')}</td>
              <td>{e.step}</td>
              <td>{e.outcome}</td>
              <td className="mono">{e.deviceId ?? ''}</td>
              <td className="mono nowrap">{e.hardwareSerial ?? ''}</td>
              <td>{e.operator ?? ''}</td>
              <td className="mono nowrap" title={e.batchId}>
                {e.batchId ? `${e.batchId.slice(0, 8)}…` : ''}
              </td>
              <td>{e.errorCode ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
