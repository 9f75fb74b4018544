import { useCallback, useEffect, useState } from 'react';
import type { Batch, StationApi, StationStatus } from '../../../src/api/station-api.ts';
import { errorText } from '../api-client.ts';

export function BatchesView({ api, status }: { api: StationApi; status: StationStatus }) {
  const [batches, setBatches] = useState<Batch[]>([]);
  const [workOrder, setWorkOrder] = useState('');
  const [error, setError] = useState<string>();

  const reload = useCallback(() => {
    api.listBatches().then(setBatches, (e) => setError(errorText(e)));
  }, [api]);
  // Reload when the open batch changes (opened or closed here or elsewhere).
  const openId = status.batch?.id;
  useEffect(() => {
    void openId;
    reload();
  }, [reload, openId]);

  const act = async (what: () => Promise<unknown>) => {
    try {
      await what();
      setError(undefined);
      reload();
    } catch (e) {
      setError(errorText(e));
    }
  };

  return (
    <div className="batches-view">
      {status.batch ? (
        <section className="panel current-batch" data-testid="current-batch">
          <h2>Open batch: {status.batch.workOrder}</h2>
          <p>
            Batch <span className="mono">{status.batch.id}</span>, opened {status.batch.openedAt} by {status.batch.operator}
            {status.batch.offline ? ' — OFFLINE batch (to sync later)' : ''}
          </p>
          <button type="button" className="btn btn-stop" onClick={() => act(() => api.closeBatch())}>
            Close batch
          </button>
        </section>
      ) : (
        <form
          className="panel"
          aria-label="Open a batch"
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
              <input data-testid="work-order" value={workOrder} onChange={(e) => setWorkOrder(e.target.value)} required />
            </label>
            <button type="submit" className="btn btn-primary" data-testid="open-batch">
              Open batch
            </button>
          </div>
        </form>
      )}
      {error && (
        <p className="error" role="alert">
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
            <th>Opened</th>
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
              <td className="mono">{b.openedAt}</td>
              <td className="mono">{b.closedAt ?? (b.id === status.batch?.id ? 'open' : '')}</td>
              <td>{b.summary ? `${b.summary.passed} / ${b.summary.failed}` : ''}</td>
              <td>
                <a href={`#/report/${encodeURIComponent(b.id)}`}>Report</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
