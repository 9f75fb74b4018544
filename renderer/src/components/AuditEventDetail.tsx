// One event in full, beside the results: it stays in view while the table scrolls (sticky), and
// Esc or Close puts it away and gives the focus back to the table.
import { useEffect, useRef } from 'react';
import type { AuditEvent } from '../api-types.ts';
import { localTimeWithZone } from '../local-time.ts';

export function AuditEventDetail({ event, onClose }: { event: AuditEvent; onClose: () => void }) {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        onClose();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  useEffect(() => {
    void event;
    ref.current?.scrollIntoView({ block: 'nearest' });
  }, [event]);

  const rows: [string, unknown][] = [
    ['Sequence', event.seq],
    ['Time', localTimeWithZone(event.ts)],
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
    <aside ref={ref} className="panel event-detail" aria-label={`Event ${event.seq}`} data-testid="event-detail">
      <header className="row">
        <h3>Event {event.seq}</h3>
        <button type="button" className="btn" onClick={onClose}>
          Close (Esc)
        </button>
      </header>
      <dl>
        {rows
          .filter(([, v]) => v !== undefined && v !== '')
          .map(([k, v]) => (
            <div key={k} className="detail-row">
              <dt>{k}</dt>
              <dd className={k === 'Message' || k === 'Time' ? '' : 'mono'}>{String(v)}</dd>
            </div>
          ))}
      </dl>
      {event.data && Object.keys(event.data).length > 0 && <pre className="mono">{JSON.stringify(event.data, null, 2)}</pre>}
    </aside>
  );
}
