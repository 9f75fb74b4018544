// A batch report for QA that prints on A4 and Letter alike (print rules in styles.css): charts
// sized for the narrower printable width, numbers on every bar, the failed devices with their
// codes, local times with the zone, and a printed-at and signature footer.
import { useEffect, useState } from 'react';
import { Bar, BarChart, CartesianGrid, LabelList, Legend, XAxis, YAxis } from 'recharts';
import { errorText } from '../api-client.ts';
import type { AuditEvent, BatchReport, StationApi } from '../api-types.ts';
import { localTime, localTimeWithZone, zoneOf } from '../local-time.ts';

/** Fits the printable width of A4 (186 mm) and Letter (192 mm) with 12 mm margins, at 96 px/in. */
export const CHART_WIDTH = 680;
const FAILED_PAGE = 5000;

/** Every failed device attempt of the batch (the trail's `record` events), oldest first. */
async function failedDevices(api: StationApi, batchId: string): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  let beforeSeq: number | undefined;
  for (;;) {
    const page = await api.queryAudit({ batchId, step: 'record', outcome: 'fail', limit: FAILED_PAGE, beforeSeq });
    all.push(...page);
    if (page.length < FAILED_PAGE) return all.reverse();
    beforeSeq = page.at(-1)?.seq;
  }
}

/** "2026-11-23T04:00:00.000Z" → "11-23 05:00" in local time (the axis names the zone). */
function hourLabel(iso: string): string {
  return localTime(iso).slice(5, 16) || iso;
}

/** No label on an empty segment of a stacked bar. */
const nonZero = (v: unknown) => (typeof v === 'number' && v > 0 ? v : '');

export function BatchReportView({ api, batchId }: { api: StationApi; batchId: string }) {
  const [report, setReport] = useState<BatchReport>();
  const [failed, setFailed] = useState<AuditEvent[]>();
  const [error, setError] = useState<string>();
  const [printedAt, setPrintedAt] = useState(() => new Date().toISOString());
  useEffect(() => {
    api.batchReport(batchId).then(setReport, (e) => setError(errorText(e)));
    failedDevices(api, batchId).then(setFailed, (e) => setError(errorText(e)));
  }, [api, batchId]);
  useEffect(() => {
    // The footer says when the paper was made, not when the page was opened.
    const before = () => setPrintedAt(new Date().toISOString());
    window.addEventListener('beforeprint', before);
    return () => window.removeEventListener('beforeprint', before);
  }, []);

  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  if (!report || !failed) return <p className="loading">Loading the report…</p>;
  const { batch, summary } = report;
  const hours = report.throughputPerHour.map((h) => ({ ...h, hour: hourLabel(h.hour) }));
  const yieldPct = summary.total ? ((100 * summary.passed) / summary.total).toFixed(1) : '—';
  const zone = zoneOf(batch.openedAt);
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
            <td>{localTimeWithZone(batch.openedAt)}</td>
            <th>Closed</th>
            <td>{batch.closedAt ? localTimeWithZone(batch.closedAt) : 'still open'}</td>
          </tr>
          <tr>
            <th>Operator</th>
            <td>{batch.operator}</td>
            <th>Mode</th>
            <td>{batch.offline ? 'offline (embedded core, to sync)' : 'online'}</td>
          </tr>
          <tr>
            <th>Devices</th>
            <td data-testid="report-total">{summary.total}</td>
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
      <section className="chart" data-testid="chart-throughput">
        <h2>Devices per hour ({zone})</h2>
        <BarChart width={CHART_WIDTH} height={240} data={hours} margin={{ top: 16, right: 8, left: 0, bottom: 0 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="hour" />
          <YAxis allowDecimals={false} />
          <Legend />
          <Bar dataKey="passed" stackId="a" fill="#1b7f3b" name="passed" isAnimationActive={false}>
            <LabelList dataKey="passed" position="inside" fill="#fff" formatter={nonZero} />
          </Bar>
          <Bar dataKey="failed" stackId="a" fill="#c62828" name="failed" isAnimationActive={false}>
            <LabelList dataKey="failed" position="inside" fill="#fff" formatter={nonZero} />
          </Bar>
        </BarChart>
      </section>
      <section className="chart" data-testid="chart-failures">
        <h2>Failures by code</h2>
        {report.failuresByCode.length === 0 ? (
          <p>No failures.</p>
        ) : (
          <BarChart
            width={CHART_WIDTH}
            height={Math.max(120, 34 * report.failuresByCode.length + 40)}
            data={report.failuresByCode}
            layout="vertical"
            margin={{ top: 4, right: 40, left: 8, bottom: 0 }}
          >
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis type="number" allowDecimals={false} />
            <YAxis type="category" dataKey="code" width={210} />
            <Bar dataKey="count" fill="#c62828" name="failures" isAnimationActive={false}>
              <LabelList dataKey="count" position="right" fill="#000" />
            </Bar>
          </BarChart>
        )}
      </section>
      <section className="report-failed" data-testid="report-failed">
        <h2>Failed devices ({failed.length})</h2>
        {failed.length === 0 ? (
          <p>No device failed in this batch.</p>
        ) : (
          <table className="report-table">
            <thead>
              <tr>
                <th>Time ({zone})</th>
                <th>Fixture</th>
                <th>Serial</th>
                <th>Device id</th>
                <th>Code</th>
              </tr>
            </thead>
            <tbody>
              {failed.map((e) => (
                <tr key={e.seq}>
                  <td className="nowrap">{localTime(e.ts)}</td>
                  <td>{e.fixture ?? ''}</td>
                  <td className="mono">{e.hardwareSerial ?? ''}</td>
                  <td className="mono">{e.deviceId ?? ''}</td>
                  <td className="mono">{e.errorCode ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <footer className="report-footer" data-testid="report-footer">
        <p>
          Printed {localTimeWithZone(printedAt)} from station {batch.station}. Counts are device attempts recorded in the audit
          trail.
        </p>
        <div className="signatures">
          <div>
            <span>Checked by (QA)</span>
          </div>
          <div>
            <span>Signature</span>
          </div>
          <div>
            <span>Date</span>
          </div>
        </div>
      </footer>
    </article>
  );
}
