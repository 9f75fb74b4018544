import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { AuditEvent, AuditQuery, Batch, ChainStatus, StationApi, StationStatus } from '../api-types.ts';
import {
  type AuditPage,
  firstPage,
  nextCursor,
  nextPage,
  PAGE_SIZE,
  pageAt,
  pageRange,
  previousCursors,
} from '../audit-paging.ts';
import { AuditEventDetail } from '../components/AuditEventDetail.tsx';
import { AuditEventTable } from '../components/AuditEventTable.tsx';
import { AuditSearchForm, EMPTY_SEARCH, type SearchFields, toAuditQuery } from '../components/AuditSearchForm.tsx';
import { ChainStatusBadge } from '../components/ChainStatusBadge.tsx';
import { SyncPanel } from '../components/SyncPanel.tsx';
import { downloadText } from '../download.ts';

/** Whose events the search covers: this station's trail, or every station's on the remote core. */
export type AuditScope = 'station' | 'remote';

/** The remote core's central audit answers one page of its newest matches (no paging there yet). */
const REMOTE_LIMIT = 500;

export function QaView({ api, status }: { api: StationApi; status: StationStatus }) {
  const [scope, setScope] = useState<AuditScope>('station');
  const [chain, setChain] = useState<ChainStatus>();
  const [batches, setBatches] = useState<Batch[]>([]);
  const [search, setSearch] = useState<SearchFields>(EMPTY_SEARCH);
  const [page, setPage] = useState<AuditPage>();
  const [selected, setSelected] = useState<AuditEvent>();
  const [error, setError] = useState<string>();

  const verify = useCallback(() => {
    setChain(undefined);
    api.verifyAudit().then(setChain, (e) => setError(errorText(e)));
  }, [api]);

  /** Load one page: station scope pages by seq (newest first); the remote answers its newest only. */
  const load = useCallback(
    (query: AuditQuery, where: AuditScope, make: (events: AuditEvent[]) => AuditPage, beforeSeq?: number) => {
      setSelected(undefined);
      const request =
        where === 'remote'
          ? api.queryRemoteAudit({ ...query, limit: REMOTE_LIMIT })
          : api.queryAudit({ ...query, station: undefined, beforeSeq, limit: PAGE_SIZE + 1 });
      request.then(
        (events) => {
          setPage(make(events));
          setError(undefined);
        },
        (e) => {
          // No stale rows under a message saying the search failed.
          setPage(undefined);
          setError(errorText(e));
        },
      );
    },
    [api],
  );

  const run = useCallback(
    (f: SearchFields, where: AuditScope) => {
      setSearch(f);
      const query = toAuditQuery(f);
      load(query, where, (events) => firstPage(query, events, where === 'remote'));
    },
    [load],
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
  const goNext = () => {
    if (page?.hasNext) load(page.query, 'station', (events) => nextPage(page, events), nextCursor(page));
  };
  const goPrevious = () => {
    if (!page || page.index === 0) return;
    const { index, cursors } = previousCursors(page);
    load(page.query, 'station', (events) => pageAt(page.query, index, cursors, events), cursors[index]);
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

  const unfiltered = scope === 'station' && Object.values(toAuditQuery(search)).every((v) => v === undefined);
  const total = unfiltered && chain?.ok ? chain.events : undefined;
  const batchName = batches.find((b) => b.id === search.batchId)?.workOrder;
  const exportScope = search.batchId ? `whole batch ${batchName ?? search.batchId}` : 'whole trail';
  const otherFilters = Object.entries(toAuditQuery(search)).some(([k, v]) => k !== 'batchId' && v !== undefined);
  const caption =
    scope === 'remote' ? `${page?.rows.length ?? 0} events from the remote core` : page ? pageRange(page, total) : 'Searching…';

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
        <span data-testid="audit-range">
          {caption}
          {scope === 'remote' && page?.rows.length === REMOTE_LIMIT ? ' (the newest 500; narrow the search to see others)' : ''}
        </span>
        {scope === 'station' && page && (
          <span className="pager">
            <button type="button" className="btn" data-testid="page-previous" disabled={page.index === 0} onClick={goPrevious}>
              ← Newer
            </button>
            <button type="button" className="btn" data-testid="page-next" disabled={!page.hasNext} onClick={goNext}>
              Older →
            </button>
          </span>
        )}
        {scope === 'station' && (
          <>
            <button type="button" className="btn" data-testid="export-csv" onClick={() => exportAs('csv')}>
              Export CSV ({exportScope})
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
      {scope === 'station' && otherFilters && (
        <p className="hint" data-testid="export-note">
          Exports contain the {exportScope}: the station cannot apply the other filters to an export yet.
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <div className="qa-results">
        <AuditEventTable
          events={page?.rows ?? []}
          selected={selected}
          onSelect={setSelected}
          showStation={scope === 'remote'}
          caption={caption}
        />
        {selected && <AuditEventDetail event={selected} onClose={() => closeDetail(setSelected)} />}
      </div>
    </div>
  );
}

/** Put the detail away and give the focus back to the results. */
function closeDetail(setSelected: (e: undefined) => void): void {
  setSelected(undefined);
  document.querySelector<HTMLElement>('[data-testid="audit-results"]')?.focus();
}
