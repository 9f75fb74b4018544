import { useCallback, useEffect, useRef, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { Batch, StationApi, StationStatus } from '../api-types.ts';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog.tsx';
import { localTime, zoneOf } from '../local-time.ts';

export function BatchesView({ api, status }: { api: StationApi; status: StationStatus }) {
  const [batches, setBatches] = useState<Batch[]>([]);
  const [workOrder, setWorkOrder] = useState('');
  const [error, setError] = useState<string>();
  const [confirm, setConfirm] = useState<ConfirmRequest>();
  const workOrderRef = useRef<HTMLInputElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);

  const reload = useCallback(() => {
    api.listBatches().then(setBatches, (e) => setError(errorText(e)));
  }, [api]);
  // Reload when the open batch changes (opened or closed here or elsewhere).
  const openId = status.batch?.id;
  useEffect(() => {
    void openId;
    reload();
  }, [reload, openId]);

  // F3 lands in the work order field, so a scanned work order is not lost.
  useEffect(() => {
    if (!openId) workOrderRef.current?.focus();
  }, [openId]);

  const act = async (what: () => Promise<unknown>) => {
    try {
      await what();
      setError(undefined);
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  const askToClose = (batch: Batch) =>
    setConfirm({
      title: `Close batch ${batch.workOrder}?`,
      body: status.running
        ? 'The line is running: devices after this are recorded without a batch until a new one is opened. The summary is counted and signed now.'
        : 'Its summary is counted and signed now; a closed batch cannot be reopened.',
      confirmLabel: 'Close the batch',
      onConfirm: () => void act(() => api.closeBatch()),
    });

  return (
    <div className="batches-view">
      {status.batch ? (
        <section className="panel current-batch" data-testid="current-batch">
          <h2>Open batch: {status.batch.workOrder}</h2>
          <p>
            Batch <span className="mono">{status.batch.id}</span>, opened {localTime(status.batch.openedAt)} by{' '}
            {status.batch.operator}
            {status.batch.offline ? ' — OFFLINE batch (to sync later)' : ''}
          </p>
          <button
            ref={closeRef}
            type="button"
            className="btn btn-stop"
            data-testid="close-batch"
            onClick={() => status.batch && askToClose(status.batch)}
          >
            Close batch…
          </button>
        </section>
      ) : (
        <form
          className="panel"
          aria-label="Open a batch"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              await api.openBatch(workOrder.trim());
              setWorkOrder('');
            });
          }}
        >
          <h2>Open a batch</h2>
          <div className="row">
            <label className="field">
              <span>Work order</span>
              <input
                ref={workOrderRef}
                data-testid="work-order"
                autoComplete="off"
                value={workOrder}
                onChange={(e) => setWorkOrder(e.target.value)}
              />
            </label>
            <button type="submit" className="btn btn-primary" data-testid="open-batch">
              Open batch
            </button>
          </div>
          <p className="hint">Or scan the work order's barcode (WO:number) in the operator view (F1).</p>
        </form>
      )}
      {error && (
        <p className="error" role="alert" data-testid="batches-error">
          {error}
        </p>
      )}
      <h2>All batches</h2>
      <table className="events" data-testid="batch-list">
        <thead>
          <tr>
            <th>Work order</th>
            <th>Batch</th>
            <th>Operator</th>
            <th>Opened ({zoneOf()})</th>
            <th>Closed</th>
            <th>Passed / failed</th>
            <th>Report</th>
          </tr>
        </thead>
        <tbody>
          {batches.map((b) => (
            <tr key={b.id}>
              <td>{b.workOrder}</td>
              <td className="mono">{b.id}</td>
              <td>{b.operator}</td>
              <td className="mono nowrap">{localTime(b.openedAt)}</td>
              <td className="mono nowrap">{b.closedAt ? localTime(b.closedAt) : b.id === status.batch?.id ? 'open' : ''}</td>
              <td>{b.summary ? `${b.summary.passed} / ${b.summary.failed}` : ''}</td>
              <td>
                <a href={`#/report/${encodeURIComponent(b.id)}`}>Report</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ConfirmDialog
        request={confirm}
        onClose={() => {
          setConfirm(undefined);
          closeRef.current?.focus();
        }}
      />
    </div>
  );
}
