import { useCallback, useEffect, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { AuditEvent, AuditSearch, Batch, ChainStatus, StationApi, StationStatus } from '../api-types.ts';
import {
  type AuditPage,
  nextCursor,
  PAGE_SIZE,
  type PageCursor,
  pageRange,
  previousCursors,
  remotePage,
  stationPage,
} from '../audit-paging.ts';
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
  const [page, setPage] = useState<AuditPage>();
  const [selected, setSelected] = useState<AuditEvent>();
  const [error, setError] = useState<string>();

  const verify = useCallback(() => {
    setChain(undefined);
    api.verifyAudit().then(setChain, (e) => setError(errorText(e)));
  }, [api]);

  /**
   * Load one page: the station pages by seq (newest first) and counts every match; the remote
   * pages with its own cursor and does not count (no find there: its fields are exact).
   */
  const load = useCallback(
    (query: AuditSearch, where: AuditScope, index: number, cursors: PageCursor[]) => {
      setSelected(undefined);
      const cursor = cursors[index];
      const request: Promise<AuditPage> =
        where === 'remote'
          ? api
              .queryRemoteAuditPage({
                ...query,
                find: undefined,
                cursor: typeof cursor === 'string' ? cursor : undefined,
                limit: PAGE_SIZE,
              } as AuditSearch & { cursor?: string })
              .then((answer) => remotePage(query, index, cursors, answer))
          : api
              .queryAuditPage({
                ...query,
                station: undefined,
                beforeSeq: typeof cursor === 'number' ? cursor : undefined,
                limit: PAGE_SIZE,
              })
              .then((answer) => stationPage(query, index, cursors, answer));
      request.then(
        (next) => {
          setPage(next);
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
      load(toAuditQuery(f), where, 0, [undefined]);
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
    if (page?.hasNext) load(page.query, scope, page.index + 1, [...page.cursors.slice(0, page.index + 1), nextCursor(page)]);
  };
  const goPrevious = () => {
    if (!page || page.index === 0) return;
    const { index, cursors } = previousCursors(page);
    load(page.query, scope, index, cursors);
  };

  const query = toAuditQuery(search);
  const filtered = Object.values(query).some((v) => v !== undefined);
  /** Exactly what the search shows (every page); unfiltered, the whole trail as a verifiable chain. */
  const exportAs = async (format: 'csv' | 'jsonl') => {
    try {
      const content = await api.exportAudit(filtered ? { format, query } : { format });
      const name = `imprint-audit-${status.stationId}${filtered ? '-search' : ''}.${format}`;
      downloadText(name, content, format === 'csv' ? 'text/csv' : 'application/x-ndjson');
    } catch (e) {
      setError(errorText(e));
    }
  };
  const exportDevices = async () => {
    try {
      const content = await api.exportDevices({ query });
      downloadText(`imprint-devices-${status.stationId}${filtered ? '-search' : ''}.csv`, content, 'text/csv');
    } catch (e) {
      setError(errorText(e));
    }
  };

  const total = page?.total;
  const exportScope = !filtered
    ? 'whole trail'
    : total !== undefined
      ? `${page?.totalCapped ? 'at least ' : ''}${total.toLocaleString('en-US')} events`
      : 'this search';
  const caption = !page ? 'Searching…' : scope === 'remote' ? `${pageRange(page)} from the remote core` : pageRange(page);

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
          {page?.totalCapped ? ' (a broad search: counted up to a cap; narrow it for an exact count)' : ''}
        </span>
        {page && (
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
            <button type="button" className="btn" data-testid="export-devices" onClick={exportDevices}>
              Devices CSV
            </button>
          </>
        )}
        {scope === 'station' && search.batchId && (
          <a className="btn" href={`#/report/${encodeURIComponent(search.batchId)}`}>
            Batch report
          </a>
        )}
      </div>
      {scope === 'station' && filtered && (
        <p className="hint" data-testid="export-note">
          Exports contain exactly this search ({exportScope}), signed by the station. Devices CSV: one row per device with its
          last outcome, for the MES.
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
