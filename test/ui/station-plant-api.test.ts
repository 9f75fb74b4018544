// The station API the UI's QA, counters, held failures and plant features use, over plain HTTP
// on the real station (simulated line): what a QA auditor, an operator and plant IT would check.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HttpStationClient } from '../../src/api/http-station-client.ts';
import { openFetchEventStream } from '../../src/api/sse-reader.ts';
import type { StationStatus } from '../../src/api/station-api.ts';
import { startWebMode, type WebMode } from '../../src/api/web-mode.ts';
import { verifyExport } from '../../src/audit/audit-verify.ts';
import { DEVICE_CSV_COLUMNS } from '../../src/audit/selection-export.ts';
import { startLabelPrinter } from '../helpers/label-printer.ts';
import { withTimeout } from './station-harness.ts';

const ADMIN_PIN = '482915';

function clientOf(mode: WebMode): HttpStationClient {
  return new HttpStationClient({
    baseUrl: mode.web.url,
    token: mode.web.token,
    openEvents: (u, f) => openFetchEventStream(u, f),
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  return withTimeout(
    (async () => {
      for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        await new Promise((r) => setTimeout(r, 50));
      }
    })(),
    ms,
    `timed out waiting for ${what}`,
  );
}

/** Splits CSV text into records (our exports quote fields with commas, quotes or line breaks). */
function csvRecords(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n') {
      row.push(field.replace(/\r$/, ''));
      out.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  return out;
}

describe('QA: search pages with totals, exports of exactly what is filtered, per-device CSV', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-qa-api-'));
  let mode: WebMode;
  let api: HttpStationClient;
  before(async () => {
    mode = await startWebMode({ dataDir, port: 0, simulate: { fixtures: 1 }, env: { IMPRINT_ADMIN_PIN: ADMIN_PIN } });
    api = clientOf(mode);
    const audit = mode.service.current.audit;
    await api.signIn({ name: 'Quinn' });
    const batch = await api.openBatch('WO-Search-1');
    // 40 devices: SN-A000..SN-A039, every 4th failed, one run twice.
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const base = {
        station: 'qa-line',
        operator: i % 2 ? 'Alice' : 'bob',
        fixture: 'F1',
        batchId: batch.id,
        deviceId: `Dev${String(i).padStart(3, '0')}xyz`,
        hardwareSerial: `SN-A${String(i).padStart(3, '0')}`,
      };
      all.push(audit.append({ ...base, step: 'identify', outcome: 'ok' }));
      const failed = i % 4 === 0;
      all.push(
        audit.append({
          ...base,
          step: 'record',
          outcome: failed ? 'fail' : 'ok',
          errorCode: failed ? 'LABEL_MISMATCH' : undefined,
          secretFingerprint: failed ? undefined : `fp1:${String(i).padStart(16, '0')}`,
        }),
      );
    }
    all.push(
      audit.append({
        station: 'qa-line',
        operator: 'bob',
        batchId: batch.id,
        deviceId: 'Dev000xyz',
        hardwareSerial: 'SN-A000',
        step: 'record',
        outcome: 'ok',
        secretFingerprint: 'fp1:rerun',
      }),
    );
    await Promise.all(all);
  });
  after(async () => {
    await mode?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a search answers one page and the total of every match; find is a case-insensitive prefix', async () => {
    const page = await api.queryAuditPage({ find: 'sn-a01', limit: 5 });
    assert.equal(page.total, 20); // SN-A010..SN-A019, two events each
    assert.equal(page.events.length, 5);
    assert.ok(page.nextBeforeSeq);
    const rest = await api.queryAuditPage({ find: 'sn-a01', limit: 100, beforeSeq: page.nextBeforeSeq });
    assert.equal(rest.events.length, 15);
    assert.equal(rest.nextBeforeSeq, undefined);
    assert.equal((await api.queryAuditPage({ find: 'ALI', step: 'record' })).total, 20);
    assert.equal((await api.queryAuditPage({ find: 'dev03' })).total, 20);
    // The work order finds its batch: open event + 81 device events.
    assert.equal((await api.queryAuditPage({ find: 'wo-search' })).total, 82);
    await assert.rejects(api.queryAuditPage({ find: 'S' }), { status: 400 });
  });

  test('a filtered export holds exactly the filtered events, with a signed trailer; the chain export still verifies', async () => {
    const query = { find: 'sn-a0', step: 'record', outcome: 'fail' as const };
    const { total } = await api.queryAuditPage(query);
    assert.equal(total, 10);
    const csv = await api.exportAudit({ format: 'csv', query });
    const records = csvRecords(csv);
    const events = records.filter((r) => /^\d+$/.test(r[0]));
    assert.equal(events.length, total);
    assert.equal(records[1][0], 'header');
    assert.equal(records.at(-1)?.[0], 'trailer');
    const trailer = JSON.parse(records.at(-1)?.at(-1) ?? '{}') as { events: number; digest: string; signature: string };
    assert.equal(trailer.events, total);
    assert.match(trailer.digest, /^[0-9a-f]{64}$/);
    const checked = verifyExport(csv);
    assert.ok(checked.ok && checked.events === total && checked.selection?.find === 'sn-a0', JSON.stringify(checked));
    const jsonl = (await api.exportAudit({ format: 'jsonl', query })).trim().split('\n');
    assert.equal(jsonl.length, total + 2);
    assert.ok(jsonl.slice(1, -1).every((l) => (JSON.parse(l) as { outcome: string }).outcome === 'fail'));
    // Without a query: the whole trail, a chain anyone can verify.
    assert.equal(verifyExport(await api.exportAudit({ format: 'jsonl' })).ok, true);
  });

  test('the per-device CSV has one row per device with its last outcome, work order and fingerprint', async () => {
    const csv = await api.exportDevices({ query: { find: 'sn-a00' } });
    const [head, ...rows] = csvRecords(csv);
    assert.deepEqual(head, [...DEVICE_CSV_COLUMNS]);
    assert.equal(rows.length, 10); // SN-A000..SN-A009
    const col = (name: (typeof DEVICE_CSV_COLUMNS)[number]) => DEVICE_CSV_COLUMNS.indexOf(name);
    const rerun = rows.find((r) => r[col('hardwareSerial')] === 'SN-A000');
    assert.equal(rerun?.[col('outcome')], 'pass', 'the last record decides');
    assert.equal(rerun?.[col('attempts')], '2');
    assert.equal(rerun?.[col('secretFingerprint')], 'fp1:rerun');
    assert.equal(rerun?.[col('workOrder')], 'WO-Search-1');
    const failed = rows.find((r) => r[col('hardwareSerial')] === 'SN-A004');
    assert.equal(failed?.[col('outcome')], 'fail');
    assert.equal(failed?.[col('errorCode')], 'LABEL_MISMATCH');
    assert.match(rows[0][col('recordedAt')], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });
});

describe('counters come from the trail; a FAIL stays until acknowledged', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-counters-api-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));

  test('the counters equal the trail after a restart, and after a settings change', async () => {
    const sim = { fixtures: 2, seed: 3, swapDelayMs: 0 };
    let mode = await startWebMode({ dataDir, port: 0, simulate: sim, env: { IMPRINT_ADMIN_PIN: ADMIN_PIN } });
    try {
      let api = clientOf(mode);
      await api.signIn({ name: 'Olive' });
      await api.openBatch('WO-Count');
      await api.start();
      await until('six devices', async () => ((await api.getStatus()).counters.done >= 6 ? true : undefined));
      await api.stop();
      const records = async () => {
        const passed = (await api.queryAuditPage({ step: 'record', outcome: 'ok' })).total;
        const failed = (await api.queryAuditPage({ step: 'record', outcome: 'fail' })).total;
        return { passed, failed };
      };
      const before = (await api.getStatus()).counters;
      const trail = await records();
      assert.deepEqual({ passed: before.passed, failed: before.failed }, trail);
      assert.deepEqual(before.batch, trail);
      await mode.close();
      mode = await startWebMode({ dataDir, port: 0, simulate: sim, env: { IMPRINT_ADMIN_PIN: ADMIN_PIN } });
      api = clientOf(mode);
      const after = (await api.getStatus()).counters;
      assert.equal(after.done, before.done);
      assert.equal(after.passed, before.passed);
      assert.equal(after.since, before.since, 'the shift began at the sign-in, not at the restart');
      assert.deepEqual(after.batch, trail);
      await api.updateSettings({ requireScan: false }, ADMIN_PIN);
      assert.equal((await api.getStatus()).counters.done, before.done);
      // A new sign-in starts a new shift; the batch keeps its count.
      await api.signIn({ name: 'Pat' });
      const shift = (await api.getStatus()).counters;
      assert.equal(shift.done, 0);
      assert.deepEqual(shift.batch, trail);
    } finally {
      await mode.close();
    }
  });

  test('a FAIL stays on its fixture until acknowledged, and is listed in recent failures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-held-api-'));
    const mode = await startWebMode({
      dataDir: dir,
      port: 0,
      simulate: { fixtures: 1, faultRate: 1, faults: ['label-swap'], seed: 1, swapDelayMs: 0 },
      env: { IMPRINT_ADMIN_PIN: ADMIN_PIN },
    });
    try {
      const api = clientOf(mode);
      await api.signIn({ name: 'Olive' });
      await api.openBatch('WO-Held');
      await api.start();
      const held = await until('a held failure', async () => {
        const f = (await api.getStatus()).fixtures[0];
        return f.heldFailure ? f : undefined;
      });
      assert.equal(held.heldFailure?.failure.code, 'LABEL_MISMATCH');
      assert.match(held.heldFailure?.failure.action ?? '', /\S/);
      // It holds: no second device starts while the FAIL is shown.
      await new Promise((r) => setTimeout(r, 500));
      const still: StationStatus = await api.getStatus();
      assert.equal(still.counters.done, 1);
      assert.equal(still.fixtures[0].heldFailure?.at, held.heldFailure?.at);
      assert.equal(still.recentFailures?.[0].failure.code, 'LABEL_MISMATCH');
      assert.equal(still.recentFailures?.[0].hardwareSerial, held.heldFailure?.hardwareSerial);
      await api.acknowledgeFailure(held.id);
      await until('the next device', async () => ((await api.getStatus()).counters.done >= 2 ? true : undefined));
      const [ack] = (await api.queryAuditPage({ step: 'fail-acknowledged' })).events;
      assert.equal(ack.operator, 'Olive');
      assert.equal(ack.errorCode, 'LABEL_MISMATCH');
      await assert.rejects(api.acknowledgeFailure('no-such-fixture'), { code: 'NOTHING_TO_ACKNOWLEDGE' });
      await api.stop();
    } finally {
      await mode.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('plant features: a ZPL label per PASS to a TCP printer, the post-PASS hook', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-plant-api-'));
  let printer: Awaited<ReturnType<typeof startLabelPrinter>>;
  const labels: string[] = [];
  before(async () => {
    printer = await startLabelPrinter(labels);
  });
  after(async () => {
    await printer.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the listener receives one ZPL label per PASS; the hook gets the device fields and never a secret', async () => {
    const hookOut = join(dataDir, 'hook-out.jsonl');
    const hookScript = join(dataDir, 'hook.mjs');
    writeFileSync(
      hookScript,
      `import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
const stdin = readFileSync(0, 'utf8');
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('IMPRINT_') || k === 'SECRET_CANARY'));
appendFileSync(${JSON.stringify(hookOut)}, JSON.stringify({ env, stdin: JSON.parse(stdin) }) + '\\n');
// The first run fails, as an MES refusing a device would (two fixtures' hooks may run at once: the
// file is created exclusively, so exactly one of them is first).
let first = true;
try { writeFileSync(${JSON.stringify(`${hookOut}.first`)}, env.IMPRINT_SERIAL, { flag: 'wx' }); } catch { first = false; }
if (first) { process.stderr.write('MES refused the device'); process.exit(3); }
`,
    );
    process.env.SECRET_CANARY = 'station-environment-must-not-leak';
    const { port } = printer;
    const mode = await startWebMode({
      dataDir,
      port: 0,
      simulate: { fixtures: 2, seed: 5, swapDelayMs: 0 },
      env: { IMPRINT_ADMIN_PIN: ADMIN_PIN },
    });
    try {
      const api = clientOf(mode);
      await api.updateSettings(
        { labelPrinter: { kind: 'tcp', host: '127.0.0.1', port }, postPassHook: { command: [process.execPath, hookScript] } },
        ADMIN_PIN,
      );
      assert.equal((await api.testPrint()).ok, true);
      assert.match(labels.shift() ?? '', /TEST-LABEL/);
      await api.signIn({ name: 'Lena' });
      await api.openBatch('WO-Labels');
      await api.start();
      await until('8 devices', async () => ((await api.getStatus()).counters.done >= 8 ? true : undefined));
      await api.stop();
      const passes = (await api.queryAuditPage({ step: 'record', outcome: 'ok', limit: 1000 })).events;
      const hooks = await until('every hook and label', async () => {
        const h = (await api.queryAuditPage({ step: 'post-pass-hook', limit: 1000 })).events;
        return h.length === passes.length && labels.length === passes.length ? h : undefined;
      });
      assert.ok(passes.length > 0);
      for (const pass of passes) {
        const label = labels.filter((l) => l.includes(`S/N ${pass.hardwareSerial}`));
        assert.equal(label.length, 1, `one label for ${pass.hardwareSerial}`);
        assert.match(label[0], /^\^XA/);
        assert.ok(label[0].includes(`^BXN,5,200^FD${pass.deviceId}^FS`), 'the device id as a DataMatrix');
        assert.ok(label[0].includes('WO WO-Labels'));
      }
      const printed = (await api.queryAuditPage({ step: 'label-print', outcome: 'ok' })).total;
      assert.equal(printed, passes.length);
      // The hook: the device's fields, a clean environment, no secret.
      const runs = readFileSync(hookOut, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { env: Record<string, string>; stdin: Record<string, string> });
      assert.equal(runs.length, passes.length);
      for (const run of runs) {
        assert.deepEqual(Object.keys(run.env).sort(), [
          'IMPRINT_BATCH',
          'IMPRINT_DEVICE_ID',
          'IMPRINT_FIXTURE',
          'IMPRINT_OPERATOR',
          'IMPRINT_SECRET_FINGERPRINT',
          'IMPRINT_SERIAL',
          'IMPRINT_STATION',
          'IMPRINT_WORK_ORDER',
        ]);
        assert.equal(run.env.IMPRINT_OPERATOR, 'Lena');
        assert.equal(run.env.IMPRINT_WORK_ORDER, 'WO-Labels');
        assert.match(run.env.IMPRINT_SECRET_FINGERPRINT, /^fp1:/);
        assert.deepEqual(Object.keys(run.stdin).sort(), [
          'batchId',
          'deviceId',
          'fixture',
          'hardwareSerial',
          'operator',
          'secretFingerprint',
          'station',
          'workOrder',
        ]);
        // A credentials secret is 44 characters of Base64: none is passed, in any form.
        assert.doesNotMatch(JSON.stringify(run), /[A-Za-z0-9+/]{43}=/);
      }
      // A failing hook is recorded with why, and never un-PASSes the device.
      const failed = hooks.filter((h) => h.outcome === 'fail');
      for (const h of failed) {
        assert.equal(h.errorCode, 'POST_PASS_HOOK_FAILED');
        assert.match(h.message ?? '', /exited with 3: MES refused the device/);
        assert.ok(passes.some((p) => p.hardwareSerial === h.hardwareSerial));
      }
      assert.equal(failed.length, 1);
      assert.equal(failed[0].hardwareSerial, readFileSync(`${hookOut}.first`, 'utf8'));
    } finally {
      delete process.env.SECRET_CANARY;
      await mode.close();
    }
  });
});

describe('starting the line: a batch first, unless a setting allows it; WO: scans open a batch; an admin unlock keeps the operator', () => {
  test('start() without a batch is refused with what to do; the setting lifts it; WO: opens a batch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-start-api-'));
    const mode = await startWebMode({
      dataDir: dir,
      port: 0,
      simulate: { fixtures: 1, swapDelayMs: 0 },
      env: { IMPRINT_ADMIN_PIN: ADMIN_PIN },
    });
    try {
      const api = clientOf(mode);
      assert.deepEqual((await api.getStatus()).startRequires, ['operator', 'batch']);
      await api.signIn({ name: 'Sam' });
      assert.deepEqual((await api.getStatus()).startRequires, ['batch']);
      await assert.rejects(api.start(), (e: Error & { code: string; status: number; hint?: string }) => {
        assert.equal(e.code, 'START_NEEDS_BATCH');
        assert.equal(e.status, 409);
        assert.match(e.hint ?? '', /scan its work order \(WO:…\)/);
        return true;
      });
      assert.equal((await api.getStatus()).running, false);
      // A work order scanned like a badge opens the batch; a second one is refused while it is open.
      await api.submitScan('WO:WO-4711');
      const status = await api.getStatus();
      assert.equal(status.batch?.workOrder, 'WO-4711');
      assert.deepEqual(status.startRequires, []);
      await assert.rejects(api.submitScan('wo-4712'), { code: 'AUDIT_BATCH_ALREADY_OPEN' });
      await api.closeBatch();
      // An admin unlocks the settings: the line operator stays Sam; a wrong PIN is refused and recorded.
      await assert.rejects(api.unlockAdmin('000000', 'Mallory'), { code: 'ADMIN_PIN_INVALID', status: 403 });
      const grant = await api.unlockAdmin(ADMIN_PIN, 'Dana Admin');
      assert.equal(grant.name, 'Dana Admin');
      assert.ok(Date.parse(grant.until) > Date.now());
      assert.equal((await api.getStatus()).operator?.name, 'Sam');
      assert.equal((await api.getStatus()).operator?.role, 'operator');
      // The admin allows starting without a batch; the change is recorded under the admin's name.
      await api.updateSettings({ allowStartWithoutBatch: true }, ADMIN_PIN);
      const [change] = (await api.queryAuditPage({ step: 'settings-change', outcome: 'ok' })).events;
      assert.equal(change.operator, 'Dana Admin');
      const unlocks = (await api.queryAuditPage({ step: 'admin-unlock' })).events;
      assert.deepEqual(
        unlocks.map((e) => [e.outcome, e.operator, e.errorCode]),
        [
          ['info', 'Dana Admin', undefined],
          ['fail', 'Mallory', 'ADMIN_PIN_INVALID'],
        ],
      );
      assert.equal((await api.getStatus()).operator?.name, 'Sam', 'the line operator is still Sam after the reload');
      assert.deepEqual((await api.getStatus()).startRequires, []);
      assert.equal((await api.getSettings()).allowStartWithoutBatch, true);
      await api.start();
      assert.equal((await api.getStatus()).running, true);
      await api.stop();
    } finally {
      await mode.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
