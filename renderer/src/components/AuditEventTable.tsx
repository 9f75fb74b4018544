import type { AuditEvent } from '../../../src/audit/audit-types.ts';

export function AuditEventTable({
  events,
  selected,
  onSelect,
}: {
  events: AuditEvent[];
  selected?: number;
  onSelect: (e: AuditEvent) => void;
}) {
  if (events.length === 0) return <p className="empty">No event matches.</p>;
  return (
    <div className="table-scroll">
      <table className="events" data-testid="audit-results">
        <thead>
          <tr>
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
              key={e.seq}
              tabIndex={0}
              className={`outcome-${e.outcome} ${selected === e.seq ? 'selected' : ''}`}
              onClick={() => onSelect(e)}
              onKeyDown={(k) => k.key === 'Enter' && onSelect(e)}
            >
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
