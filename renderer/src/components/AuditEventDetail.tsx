import type { AuditEvent } from '../../../src/api/station-api.ts';

export function AuditEventDetail({ event, onClose }: { event: AuditEvent; onClose: () => void }) {
  const rows: [string, unknown][] = [
    ['Sequence', event.seq],
    ['Time (UTC)', event.ts],
    ['Station', event.station],
    ['Operator', event.operator],
    ['Fixture', event.fixture],
    ['Batch', event.batchId],
    ['Device id', event.deviceId],
    ['Serial', event.hardwareSerial],
    ['Step', event.step],
    ['Outcome', event.outcome],
    ['Error code', event.errorCode],
    ['Message', event.message],
    ['Duration (ms)', event.durationMs],
    ['Secret fingerprint', event.secretFingerprint],
    ['Previous hash', event.prevHash],
    ['Hash', event.hash],
  ];
  return (
    <aside className="panel event-detail" aria-label={`Event ${event.seq}`} data-testid="event-detail">
      <header className="row">
        <h3>Event {event.seq}</h3>
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
      </header>
      <dl>
        {rows
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => (
            <div key={k} className="detail-row">
              <dt>{k}</dt>
              <dd className={k === 'Message' ? '' : 'mono'}>{String(v)}</dd>
            </div>
          ))}
      </dl>
      {event.data && Object.keys(event.data).length > 0 && <pre className="mono">{JSON.stringify(event.data, null, 2)}</pre>}
    </aside>
  );
}
