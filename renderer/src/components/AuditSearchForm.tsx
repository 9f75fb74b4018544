import { useEffect, useRef, useState } from 'react';
import type { AuditSearch, Batch } from '../api-types.ts';
import { zoneOf } from '../local-time.ts';

export interface SearchFields {
  /** The start of a serial, device id, operator or work order, in any case. */
  find: string;
  deviceId: string;
  hardwareSerial: string;
  batchId: string;
  operator: string;
  station: string;
  from: string;
  to: string;
  outcome: '' | 'ok' | 'fail' | 'info';
}

export const EMPTY_SEARCH: SearchFields = {
  find: '',
  deviceId: '',
  hardwareSerial: '',
  batchId: '',
  operator: '',
  station: '',
  from: '',
  to: '',
  outcome: '',
};

/** datetime-local values are local time: the trail is searched in UTC. */
function toIso(local: string): string | undefined {
  return local ? new Date(local).toISOString() : undefined;
}

export function toAuditQuery(f: SearchFields): AuditSearch {
  return {
    find: f.find.trim() || undefined,
    deviceId: f.deviceId.trim() || undefined,
    hardwareSerial: f.hardwareSerial.trim() || undefined,
    batchId: f.batchId || undefined,
    operator: f.operator.trim() || undefined,
    station: f.station.trim() || undefined,
    outcome: f.outcome || undefined,
    from: toIso(f.from),
    to: toIso(f.to),
  };
}

export function AuditSearchForm({
  batches,
  onSearch,
  showStation = false,
}: {
  batches: Batch[];
  onSearch: (f: SearchFields) => void;
  /** A station id filter (searching every station on the remote core). */
  showStation?: boolean;
}) {
  const [f, setF] = useState<SearchFields>(EMPTY_SEARCH);
  const firstRef = useRef<HTMLInputElement>(null);
  // F2 lands in the first search field: a scanned device id or serial goes straight into it.
  useEffect(() => firstRef.current?.focus(), []);
  const field = (
    key: keyof SearchFields,
    label: string,
    type = 'text',
    ref?: React.Ref<HTMLInputElement>,
    extra: { minLength?: number; placeholder?: string; className?: string } = {},
  ) => (
    <label className={`field ${extra.className ?? ''}`}>
      <span>{label}</span>
      <input
        ref={ref}
        type={type}
        name={key}
        minLength={extra.minLength}
        placeholder={extra.placeholder}
        value={f[key]}
        autoComplete="off"
        onChange={(e) => setF({ ...f, [key]: e.target.value })}
      />
    </label>
  );
  return (
    <form
      className="search-form"
      aria-label="Search the audit trail"
      onSubmit={(e) => {
        e.preventDefault();
        onSearch(f);
      }}
    >
      {!showStation &&
        field('find', 'Find (start of serial, device id, operator or work order)', 'search', firstRef, {
          minLength: 2,
          placeholder: 'e.g. SN-1042, alice, WO-77',
          className: 'field-find',
        })}
      {field('deviceId', 'Device id (exact)', 'text', showStation ? firstRef : undefined)}
      {field('hardwareSerial', 'Serial (exact)')}
      <label className="field">
        <span>Batch</span>
        <select name="batchId" value={f.batchId} onChange={(e) => setF({ ...f, batchId: e.target.value })}>
          <option value="">All batches</option>
          {batches.map((b) => (
            <option key={b.id} value={b.id}>
              {b.workOrder} ({b.id})
            </option>
          ))}
        </select>
      </label>
      {field('operator', 'Operator (exact)')}
      {showStation && field('station', 'Station')}
      {field('from', `From (${zoneOf()})`, 'datetime-local')}
      {field('to', `To (${zoneOf()})`, 'datetime-local')}
      <label className="field">
        <span>Outcome</span>
        <select
          name="outcome"
          value={f.outcome}
          onChange={(e) => setF({ ...f, outcome: e.target.value as SearchFields['outcome'] })}
        >
          <option value="">Any</option>
          <option value="ok">ok</option>
          <option value="fail">fail</option>
          <option value="info">info</option>
        </select>
      </label>
      <div className="search-actions">
        <button type="submit" className="btn btn-primary">
          Search
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => {
            setF(EMPTY_SEARCH);
            onSearch(EMPTY_SEARCH);
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
