import { useCallback, useEffect, useState } from 'react';
import type { StationApi, StationStatus } from '../../../src/api/station-api.ts';
import type { AuditEvent, Batch, ChainStatus } from '../../../src/audit/audit-types.ts';
import { errorText } from '../api-client.ts';
import { AuditEventDetail } from '../components/AuditEventDetail.tsx';
import { AuditEventTable } from '../components/AuditEventTable.tsx';
import { AuditSearchForm, EMPTY_SEARCH, type SearchFields, toAuditQuery } from '../components/AuditSearchForm.tsx';
import { ChainStatusBadge } from '../components/ChainStatusBadge.tsx';
import { SyncPanel } from '../components/SyncPanel.tsx';
import { downloadText } from '../download.ts';

export function QaView({ api, status }: { api: StationApi; status: StationStatus }) {
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
    (f: SearchFields) => {
      setSearch(f);
      api.queryAudit(toAuditQuery(f)).then(
        (ev) => {
          setEvents(ev);
          setError(undefined);
        },
        (e) => setError(errorText(e)),
      );
    },
    [api],
  );

  useEffect(() => {
    verify();
    run(EMPTY_SEARCH);
    api.listBatches().then(setBatches, () => {});
  }, [api, verify, run]);

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
      <AuditSearchForm batches={batches} onSearch={run} />
      <div className="row qa-actions">
        <span>{events.length} events</span>
        <button type="button" className="btn" data-testid="export-csv" onClick={() => exportAs('csv')}>
          Export CSV
        </button>
        <button type="button" className="btn" data-testid="export-jsonl" onClick={() => exportAs('jsonl')}>
          Export JSON lines
        </button>
        {search.batchId && (
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
        <AuditEventTable events={events} selected={selected?.seq} onSelect={setSelected} />
        {selected && <AuditEventDetail event={selected} onClose={() => setSelected(undefined)} />}
      </div>
    </div>
  );
}
