// `npm run bench:audit-page`: what QA's search costs on a 1,000,000-event trail: one page (100
// newest matches) and its total, for the usual searches (find by the start of a serial, device id,
// operator or work order; a batch's failures; everything). Prints figures and ratios to 100 ms.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuditSearch } from '../src/audit/audit-page-query.ts';
import { AuditTrail } from '../src/audit/audit-trail.ts';
import type { AuditEventInput } from '../src/audit/audit-types.ts';

const TOTAL = Number(process.env.AUDIT_BENCH_EVENTS ?? 1_000_000);
const PER_TURN = 5_000;
const TARGET_MS = 100;
const STEPS = ['identify', 'cross-check', 'register', 'write-secret', 'verify', 'lock', 'write-config', 'record'];

function event(i: number, batchId: string): AuditEventInput {
  const device = Math.floor(i / STEPS.length);
  const step = STEPS[i % STEPS.length];
  const failed = step === 'record' && device % 50 === 0;
  return {
    station: 'bench-station',
    operator: `Operator ${device % 7}`,
    fixture: `F${device % 8}`,
    batchId,
    deviceId: `dev-${((device * 2654435761) >>> 0).toString(16).padStart(8, '0')}`,
    hardwareSerial: `SN${String(device).padStart(7, '0')}`,
    step,
    outcome: failed ? 'fail' : 'ok',
    errorCode: failed ? 'E_DIGEST_MISMATCH' : undefined,
  };
}

// AUDIT_BENCH_KEEP=DIR: build the trail in DIR once and reuse it on later runs (for comparisons).
const keep = process.env.AUDIT_BENCH_KEEP;
const dir = keep ?? mkdtempSync(join(tmpdir(), 'imprint-audit-page-bench-'));
try {
  const file = join(dir, 'audit.db');
  if (!keep || !existsSync(file)) await build(file);
  await measure(file);
} finally {
  if (!keep) rmSync(dir, { recursive: true, force: true });
}

async function build(file: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const writer = AuditTrail.open({ file, stationId: 'bench-station' });
  // 20 work orders of 50,000 events each.
  let batch = await writer.openBatch({ workOrder: 'WO-00', operator: 'bench' });
  let appended = 1;
  let workOrders = 1;
  while (appended < TOTAL) {
    const n = Math.min(PER_TURN, TOTAL - appended);
    const turn: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) turn.push(writer.append(event(appended + i, batch.id)));
    await Promise.all(turn);
    appended += n;
    if (appended >= workOrders * 50_000 && appended < TOTAL - 2) {
      await writer.closeBatch(batch.id);
      batch = await writer.openBatch({ workOrder: `WO-${String(workOrders++).padStart(2, '0')}`, operator: 'bench' });
      appended += 2;
    }
  }
  writer.close();
}

async function measure(file: string): Promise<void> {
  const trail = AuditTrail.open({ file, stationId: 'bench-station', readonly: true });
  const lastBatch = trail.listBatches().at(-1)?.id;
  const searches: [string, AuditSearch][] = [
    ['everything', {}],
    ['find "sn00123" (the start of a serial: 10 devices)', { find: 'sn00123' }],
    ['find "DEV-1A2" (the start of a device id: ~30 devices)', { find: 'DEV-1A2' }],
    ['find "wo-07" (a work order: 50,000 events)', { find: 'wo-07' }],
    ['find "wo-07", failures only', { find: 'wo-07', outcome: 'fail' }],
    ['find "operator 3" (one operator in 7: 143,000 events)', { find: 'operator 3' }],
    ['find "op" (every operator: the whole trail)', { find: 'op' }],
    ['find "op", 50 pages back', { find: 'op', beforeSeq: 995_000 }],
    ['find "op", failures only', { find: 'op', outcome: 'fail' }],
    ['find "sn00" (800,000 events of the oldest devices, none of the newest 200,000)', { find: 'sn00' }],
    ["a batch's failures", { batchId: lastBatch, outcome: 'fail' }],
    ["a batch's failed devices (record events)", { batchId: lastBatch, step: 'record', outcome: 'fail' }],
    ['one hour of events', { from: new Date(Date.now() - 3_600_000).toISOString(), to: new Date().toISOString() }],
    ['record events of one operator', { operator: 'Operator 3', step: 'record' }],
  ];
  const head = trail.query({ limit: 1 })[0].seq;
  console.log(`audit search benchmark: ${head.toLocaleString('en')} events, load average ${loadavg()[0].toFixed(1)} (${dir})`);
  for (const [name, q] of searches) {
    trail.queryPage(q); // warm the page cache once, as a QA screen would
    const runs = 5;
    const t = performance.now();
    let page = trail.queryPage(q);
    for (let i = 1; i < runs; i++) page = trail.queryPage(q);
    const ms = (performance.now() - t) / runs;
    const r = TARGET_MS / ms;
    console.log(
      `${name}: ${ms.toFixed(1)} ms for the page and its total (${page.totalCapped ? 'at least ' : ''}${page.total.toLocaleString('en')} matches) — ${r.toFixed(2)}x target (${r >= 1 ? 'meets' : 'misses'}) of ${TARGET_MS} ms`,
    );
  }
  trail.close();
}
