// A batch report for QA that prints cleanly to PDF (see the print rules in styles.css).
import { useEffect, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import type { BatchReport, StationApi } from '../../../src/api/station-api.ts';
import { errorText } from '../api-client.ts';

export function BatchReportView({ api, batchId }: { api: StationApi; batchId: string }) {
  const [report, setReport] = useState<BatchReport>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    api.batchReport(batchId).then(setReport, (e) => setError(errorText(e)));
  }, [api, batchId]);

  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!report) return <p className="loading">Loading the report…</p>;
  const { batch, summary } = report;
  const hours = report.throughputPerHour.map((h) => ({ ...h, hour: hourLabel(h.hour) }));
  const yieldPct = summary.total ? ((100 * summary.passed) / summary.total).toFixed(1) : '—';
  return (
    <article className="report" data-testid="batch-report">
      <header className="row no-print">
        <a className="btn" href="#/batches">
          ← Batches
        </a>
        <button type="button" className="btn btn-primary" onClick={() => window.print()}>
          Print / save as PDF
        </button>
      </header>
      <h1>Batch report: {batch.workOrder}</h1>
      <table className="report-facts">
        <tbody>
          <tr>
            <th>Batch</th>
            <td className="mono">{batch.id}</td>
            <th>Station</th>
            <td>{batch.station}</td>
          </tr>
          <tr>
            <th>Opened</th>
            <td className="mono">{batch.openedAt}</td>
            <th>Closed</th>
            <td className="mono">{batch.closedAt ?? 'still open'}</td>
          </tr>
          <tr>
            <th>Operator</th>
            <td>{batch.operator}</td>
            <th>Mode</th>
            <td>{batch.offline ? 'offline (embedded core, to sync)' : 'online'}</td>
          </tr>
          <tr>
            <th>Devices</th>
            <td>{summary.total}</td>
            <th>Passed / failed</th>
            <td>
              {summary.passed} / {summary.failed} (yield {yieldPct}%)
            </td>
          </tr>
          <tr>
            <th>Signature</th>
            <td colSpan={3} className="mono">
              {batch.signature ? `signed by ${batch.signingKeyId}` : 'not signed (batch open)'}
            </td>
          </tr>
          <tr>
            <th>Chain</th>
            <td colSpan={3} className="mono">
              {summary.firstEventHash ? `${summary.firstEventHash} … ${summary.lastEventHash}` : 'recorded when the batch closes'}
            </td>
          </tr>
        </tbody>
      </table>
      <section className="chart">
        <h2>Throughput per hour</h2>
        <BarChart width={760} height={260} data={hours}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="hour" />
          <YAxis allowDecimals={false} />
          <Tooltip />
          <Legend />
          <Bar dataKey="passed" stackId="a" fill="#1b7f3b" name="passed" isAnimationActive={false} />
          <Bar dataKey="failed" stackId="a" fill="#c62828" name="failed" isAnimationActive={false} />
        </BarChart>
      </section>
      <section className="chart">
        <h2>Failures by code</h2>
        {report.failuresByCode.length === 0 ? (
          <p>No failures.</p>
        ) : (
          <BarChart width={760} height={260} data={report.failuresByCode} layout="vertical" margin={{ left: 120 }}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis type="number" allowDecimals={false} />
            <YAxis type="category" dataKey="code" width={180} />
            <Tooltip />
            <Bar dataKey="count" fill="#c62828" name="failures" isAnimationActive={false} />
          </BarChart>
        )}
      </section>
    </article>
  );
}

/** "2026-11-23T04:00:00.000Z" → "11-23 04:00 UTC" (the axis has no room for full timestamps). */
function hourLabel(iso: string): string {
  const m = /^\d{4}-(\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
  return m ? `${m[1]} ${m[2]} UTC` : iso;
}
