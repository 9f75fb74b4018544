import { useCallback, useEffect, useState } from 'react';
import type { AuditEvent, Batch, ChainStatus, StationApi, StationStatus } from '../../../src/api/station-api.ts';
import { errorText } from '../api-client.ts';
import { AuditEventDetail } from '../components/AuditEventDetail.tsx';
import { AuditEventTable } from '../components/AuditEventTable.tsx';
import { AuditSearchForm, EMPTY_SEARCH, type SearchFields, toAuditQuery } from '../components/AuditSearchForm.tsx';
import { ChainStatusBadge } from '../components/ChainStatusBadge.tsx';
import { SyncPanel } from '../components/SyncPanel.tsx';
import { downloadText } from '../download.ts';

/** Whose events the search covers: this station's trail, or every station's on the remote core. */
export type AuditScope = 'station' | 'remote';

export function QaView({ api, status }: { api: StationApi; status: StationStatus }) {
  const [scope, setScope] = useState<AuditScope>('station');
  const [chain, setChain] = useState<ChainStatus>();
  const [batches, setBatches] = useState<Batch[]>([]);
  const [search, setSearch] = useState<SearchFields>(EMPTY_SEARCH);
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [selected, setSelected] = useState<AuditEvent>();
  const [error, setError] = useState<string>();

  const verify = useCallback(() => {
    setChain(undefined);
    api.verifyAudit().then(setChain, (e) => setError(errorText(e)));
  }, [api]);

  const run = useCallback(
    (f: SearchFields, where: AuditScope) => {
      setSearch(f);
      setSelected(undefined);
      const query = toAuditQuery(f);
      const request = where === 'remote' ? api.queryRemoteAudit(query) : api.queryAudit({ ...query, station: undefined });
      request.then(
        (ev) => {
          setEvents(ev);
          setError(undefined);
        },
        (e) => {
          // No stale rows under a message saying the search failed.
          setEvents([]);
          setError(errorText(e));
        },
      );
    },
    [api],
  );

  useEffect(() => {
    verify();
    api.listBatches().then(setBatches, () => {});
  }, [api, verify]);

  useEffect(() => {
    run(EMPTY_SEARCH, 'station');
  }, [run]);

  const switchScope = (next: AuditScope) => {
    setScope(next);
    run(search, next);
  };

  const exportAs = async (format: 'csv' | 'jsonl') => {
    try {
      const content = await api.exportAudit({ format, batchId: search.batchId || undefined });
      const name = `imprint-audit-${status.stationId}${search.batchId ? `-${search.batchId}` : ''}.${format}`;
      downloadText(name, content, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <div className="qa-view">
      <ChainStatusBadge chain={chain} onVerify={verify} />
      <SyncPanel api={api} status={status} />
      <fieldset className="row audit-scope" data-testid="audit-scope">
        <legend>Search</legend>
        <label>
          <input type="radio" name="audit-scope" checked={scope === 'station'} onChange={() => switchScope('station')} />
          This station
        </label>
        <label>
          <input type="radio" name="audit-scope" checked={scope === 'remote'} onChange={() => switchScope('remote')} />
          All stations (remote core)
        </label>
      </fieldset>
      <AuditSearchForm batches={batches} onSearch={(f) => run(f, scope)} showStation={scope === 'remote'} />
      <div className="row qa-actions">
        <span>
          {events.length} events{scope === 'remote' ? ' from the remote core' : ''}
        </span>
        {scope === 'station' && (
          <>
            <button type="button" className="btn" data-testid="export-csv" onClick={() => exportAs('csv')}>
              Export CSV
            </button>
            <button type="button" className="btn" data-testid="export-jsonl" onClick={() => exportAs('jsonl')}>
              Export JSON lines
            </button>
          </>
        )}
        {scope === 'station' && search.batchId && (
          <a className="btn" href={`#/report/${encodeURIComponent(search.batchId)}`}>
            Batch report
          </a>
        )}
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="qa-results">
        <AuditEventTable events={events} selected={selected} onSelect={setSelected} showStation={scope === 'remote'} />
        {selected && <AuditEventDetail event={selected} onClose={() => setSelected(undefined)} />}
      </div>
    </div>
  );
}
