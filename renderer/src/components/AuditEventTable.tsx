// The search results: one tab stop for the whole table (rows are not tab stops), arrow keys move
// the active row, Enter or Space opens its detail, Home/End and PageUp/PageDown jump.
import { useEffect, useRef, useState } from 'react';
import type { AuditEvent } from '../api-types.ts';
import { localTime, zoneShort } from '../local-time.ts';

/** Rows of several stations share seq numbers: a row is its station and seq. */
export const rowKey = (e: AuditEvent) => `${e.station}:${e.seq}`;
const rowId = (e: AuditEvent) => `event-row-${rowKey(e).replace(/[^A-Za-z0-9_-]/g, '_')}`;

export function AuditEventTable({
  events,
  selected,
  onSelect,
  showStation = false,
  caption,
}: {
  events: AuditEvent[];
  selected?: AuditEvent;
  onSelect: (e: AuditEvent) => void;
  /** The station id column (events of every station from the remote core). */
  showStation?: boolean;
  caption: string;
}) {
  const [active, setActive] = useState(0);
  const tableRef = useRef<HTMLTableElement>(null);
  // A new page starts at its first row.
  useEffect(() => {
    void events;
    setActive(0);
  }, [events]);
  const current = events[Math.min(active, events.length - 1)];
  useEffect(() => {
    // Keep the active row visible inside the table's own scroll area, without moving the page.
    const row = current && document.getElementById(rowId(current));
    const box = row?.closest('.table-scroll') as HTMLElement | null | undefined;
    if (!row || !box) return;
    const head = box.querySelector('thead')?.getBoundingClientRect().height ?? 0;
    const r = row.getBoundingClientRect();
    const b = box.getBoundingClientRect();
    if (r.top < b.top + head) box.scrollTop -= b.top + head - r.top;
    else if (r.bottom > b.bottom) box.scrollTop += r.bottom - b.bottom;
  }, [current]);

  if (events.length === 0) return <p className="empty">No event matches.</p>;

  const move = (to: number) => setActive(Math.max(0, Math.min(events.length - 1, to)));
  const onKeyDown = (k: React.KeyboardEvent) => {
    const steps: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 10, PageUp: -10 };
    if (k.key in steps) move(active + steps[k.key]);
    else if (k.key === 'Home') move(0);
    else if (k.key === 'End') move(events.length - 1);
    else if ((k.key === 'Enter' || k.key === ' ') && current) onSelect(current);
    else return;
    k.preventDefault();
  };

  return (
    <div className="table-scroll">
      <table
        ref={tableRef}
        className="events events-grid"
        data-testid="audit-results"
        // biome-ignore lint/a11y/noNoninteractiveElementToInteractiveRole: a data table as an ARIA grid is the pattern for one tab stop with arrow-key rows
        role="grid"
        aria-label={caption}
        aria-readonly="true"
        tabIndex={0}
        aria-activedescendant={current ? rowId(current) : undefined}
        onKeyDown={onKeyDown}
      >
        <thead>
          <tr>
            {showStation && <th>Station</th>}
            <th>#</th>
            <th>Time ({zoneShort(events[0]?.ts)})</th>
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
          {events.map((e, i) => (
            <tr
              key={rowKey(e)}
              id={rowId(e)}
              aria-selected={selected ? rowKey(selected) === rowKey(e) : false}
              className={`outcome-${e.outcome}${selected && rowKey(selected) === rowKey(e) ? ' selected' : ''}${i === active ? ' active' : ''}`}
              onClick={() => {
                setActive(i);
                onSelect(e);
                tableRef.current?.focus();
              }}
            >
              {showStation && <td className="mono nowrap">{e.station}</td>}
              <td>{e.seq}</td>
              <td className="mono nowrap">{localTime(e.ts)}</td>
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
