// The renderer's rules that need no browser: how long a dead station goes unnoticed (on mocked
// timers), what a scan means, how pages and their totals read, schema messages as sentences,
// and what a port test says.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, mock, test } from 'node:test';
import { nextCursor, pageRange, remotePage, stationPage } from '../../renderer/src/audit-paging.ts';
import { errorSentence, schemaSentence } from '../../renderer/src/error-sentences.ts';
import { portVerdict } from '../../renderer/src/port-verdict.ts';
import { routeScan } from '../../renderer/src/scan-routing.ts';
import { LIVENESS, type LinkState, StationLink, WORST_CASE_DETECTION_MS } from '../../renderer/src/station-link.ts';
import type { AuditEvent } from '../../src/audit/audit-types.ts';

/** Let promise callbacks run (setImmediate is not mocked). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('the station link (liveness), on mocked timers', () => {
  let link: StationLink;
  let states: LinkState[];
  let answer: () => Promise<unknown>;
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_800_000_000_000 });
    link = new StationLink();
    states = [];
    link.onChange((s) => states.push(s));
    answer = () => Promise.resolve({});
  });
  afterEach(() => {
    link.stop();
    mock.timers.reset();
  });

  /** Move the clock in small steps until `done`, returning how long it took. */
  async function until(done: () => boolean, limitMs = 10_000): Promise<number> {
    let spent = 0;
    await settle();
    while (!done() && spent < limitMs) {
      mock.timers.tick(50);
      spent += 50;
      await settle();
    }
    return spent;
  }

  test('online once the station answers', async () => {
    link.start(() => answer());
    await settle();
    assert.equal(link.state.kind, 'online');
  });

  test('a station that hangs right after it was heard is OFFLINE within the worst case, under 3 s', async () => {
    link.start(() => answer());
    await settle();
    for (const offset of [0, 10, 250, 490]) {
      answer = () => Promise.resolve({});
      await until(() => link.state.kind === 'online');
      mock.timers.tick(offset);
      link.streamMessage(); // heard, then silence: the station hangs
      answer = () => new Promise(() => {});
      const spent = await until(() => link.state.kind === 'offline');
      assert.equal(link.state.kind, 'offline');
      assert.ok(spent <= WORST_CASE_DETECTION_MS, `${spent} ms (hung ${offset} ms into a tick)`);
      assert.ok(WORST_CASE_DETECTION_MS < 3000);
      assert.match((link.state as { reason: string }).reason, /does not answer/);
    }
  });

  test('a killed station (stream dropped, connection refused) is OFFLINE at once, and comes back by itself', async () => {
    let recovered = 0;
    link.onRecovered(() => recovered++);
    link.start(() => answer());
    link.streamOpened();
    await settle();
    answer = () => Promise.reject(new TypeError('Failed to fetch'));
    link.streamFailed();
    await settle();
    assert.equal(link.state.kind, 'offline', 'no timer needed');
    assert.match((link.state as { reason: string }).reason, /process is not running/);
    // It keeps trying: a retry count grows every tick.
    for (let i = 0; i < 3; i++) {
      mock.timers.tick(LIVENESS.probeEveryMs);
      await settle();
    }
    assert.equal((link.state as { retries: number }).retries, 3);
    answer = () => Promise.resolve({});
    link.streamOpened();
    await settle();
    assert.equal(link.state.kind, 'online');
    assert.equal(recovered, 1);
  });

  test('a stream that stays down while calls work is OFFLINE after its grace, with that reason', async () => {
    link.start(() => answer());
    link.streamOpened();
    await settle();
    link.streamFailed();
    const spent = await until(() => link.state.kind === 'offline');
    assert.ok(spent >= LIVENESS.streamGraceMs - LIVENESS.probeEveryMs && spent <= LIVENESS.streamGraceMs + LIVENESS.probeEveryMs);
    assert.match((link.state as { reason: string }).reason, /event stream/);
    link.streamMessage();
    assert.equal(link.state.kind, 'online');
  });

  test('a refused session token is its own state', async () => {
    answer = () =>
      Promise.reject(Object.assign(new Error('Missing or wrong session token'), { status: 401, code: 'UNAUTHORIZED' }));
    link.start(() => answer());
    await settle();
    assert.equal(link.state.kind, 'refused');
  });

  test('the desktop shell tells why the station is gone, and the page says it', async () => {
    answer = () =>
      Promise.reject(
        Object.assign(new Error('The station process exited (code 6). Restarting it (try 1).'), { code: 'STATION_OFFLINE' }),
      );
    link.start(() => answer());
    await settle();
    assert.deepEqual(
      link.state.kind === 'offline' && link.state.reason,
      'The station process exited (code 6). Restarting it (try 1).',
    );
  });
});

describe('what a scan means', () => {
  const out = { signedIn: false };
  const inNoBatch = { signedIn: true };
  const inWithBatch = { signedIn: true, openWorkOrder: 'WO-1' };
  test('badges go to the station, signed in or not', () => {
    assert.deepEqual(routeScan('OP:Ann Lee', out), { kind: 'badge', text: 'OP:Ann Lee' });
    assert.deepEqual(routeScan(' badge-00042 ', inWithBatch), { kind: 'badge', text: 'badge-00042' });
  });
  test('a name typed while nobody is signed in signs in; something that looks like a label does not', () => {
    assert.deepEqual(routeScan('Alice Martin', out), { kind: 'sign-in', name: 'Alice Martin' });
    assert.deepEqual(routeScan("Zoë O'Neil-Brandão", out), { kind: 'sign-in', name: "Zoë O'Neil-Brandão" });
    for (const label of ['SIM-00012', 'SN123456', '0123456789012', '(01)09506000134352(21)ABC']) {
      const r = routeScan(label, out);
      assert.equal(r.kind, 'refuse', label);
      assert.match((r as { message: string }).message, /looks like a device label/);
    }
  });
  test('WO: opens a batch once someone is signed in and none is open', () => {
    assert.deepEqual(routeScan('WO:WO-2026-7', inNoBatch), { kind: 'open-batch', workOrder: 'WO-2026-7' });
    assert.deepEqual(routeScan('wo- 4711', inNoBatch), { kind: 'open-batch', workOrder: '4711' });
    assert.match((routeScan('WO:4711', out) as { message: string }).message, /Sign in first/);
    assert.match(
      (routeScan('WO:4712', inWithBatch) as { message: string }).message,
      /Batch WO-1 is still open. Close it in Batches \(F3\) before opening 4712/,
    );
  });
  test('anything else from a signed-in operator is a device label', () => {
    assert.deepEqual(routeScan('Alice Martin', inWithBatch), { kind: 'device', text: 'Alice Martin' });
    assert.deepEqual(routeScan('SIM-00012', inNoBatch), { kind: 'device', text: 'SIM-00012' });
  });
});

describe('schema messages as sentences', () => {
  const cases: [string, string][] = [
    ['body/workOrder must NOT have fewer than 1 characters', 'Enter a work order number.'],
    ['Invalid work order: /workOrder must not have fewer than 1 characters', 'Enter a work order number.'],
    ["body must have required property 'workOrder'", 'Enter a work order number.'],
    ['Invalid work order:  must have required properties workOrder', 'Enter a work order number.'],
    ['body/workOrder must NOT have more than 100 characters', 'A work order number has at most 100 characters.'],
    ['Invalid scan: /text must not have fewer than 1 characters', 'Enter a scan.'],
    [
      'body/patch/realm must match pattern "^[a-z][a-z0-9]{0,47}$"',
      'A realm name starts with a lower-case letter, then up to 47 lower-case letters or digits (for example factory1).',
    ],
    ['Invalid settings: /simulatedFixtures must be <= 32', 'Simulated fixtures: a whole number from 0 to 32.'],
    ['Invalid settings: /simulatedFixtures must be integer', 'Simulated fixtures: a whole number from 0 to 32.'],
    ['Invalid settings: /fixtures/2/id must not have fewer than 1 characters', 'Enter a fixture id (fixture 3).'],
    [
      'Invalid settings: /deviceIdRule/namespace must match pattern "^[0-9a-fA-F-]{36}$"',
      'The UUIDv5 namespace is a UUID such as f79ad91f-c638-4889-ae74-9d001a3b4cf8.',
    ],
    ['body/name must NOT have more than 100 characters', 'Your name has at most 100 characters.'],
  ];
  for (const [raw, sentence] of cases) {
    test(`"${raw}"`, () => {
      assert.equal(schemaSentence(raw), sentence);
      assert.equal(errorSentence(Object.assign(new Error(raw), { code: 'VALIDATION' })), sentence);
    });
  }
  test('other errors keep their message and hint; a network failure says the station did not answer', () => {
    assert.equal(
      errorSentence(
        Object.assign(new Error('No fixture is waiting for a scan'), { hint: 'Put the device in a free fixture first' }),
      ),
      'No fixture is waiting for a scan. Put the device in a free fixture first',
    );
    assert.match(errorSentence(new TypeError('Failed to fetch')), /The station did not answer/);
  });
});

describe('audit pages', () => {
  const ev = (seq: number) => ({ seq }) as AuditEvent;
  const events = (from: number, n: number) => Array.from({ length: n }, (_, i) => ev(from - i));
  test('a station page carries the total of the search and whether an older page exists', () => {
    const p = stationPage({}, 0, [undefined], { events: events(2725, 100), total: 2725, nextBeforeSeq: 2626 });
    assert.equal(p.hasNext, true);
    assert.equal(pageRange(p), 'Events 1–100 of 2,725');
    assert.equal(nextCursor(p), 2626);
    const last = stationPage({}, 27, [], { events: events(25, 25), total: 2725 });
    assert.equal(last.hasNext, false);
    assert.equal(pageRange(last), 'Events 2,701–2,725 of 2,725');
    assert.equal(pageRange(stationPage({ find: 'zz' }, 0, [undefined], { events: [], total: 0 })), 'No event matches');
  });
  test("the remote core's pages have an opaque cursor and no total", () => {
    const p = remotePage({}, 5, [], { events: events(100, 100), nextCursor: 'abc' });
    assert.equal(p.hasNext, true);
    assert.equal(nextCursor(p), 'abc');
    assert.equal(pageRange(p), 'Events 501–600 of more than 600');
    const last = remotePage({}, 6, [], { events: events(20, 20) });
    assert.equal(last.hasNext, false);
    assert.equal(pageRange(last), 'Events 601–620 of 620');
  });
  test('a capped total reads "at least"', () => {
    const p = stationPage({ find: 'op' }, 0, [undefined], {
      events: events(900, 100),
      total: 100_000,
      totalCapped: true,
      nextBeforeSeq: 801,
    });
    assert.equal(pageRange(p), 'Events 1–100 of at least 100,000');
  });
});

describe('port test verdicts', () => {
  test('no device answered is a failure even when the port opens', () => {
    const v = portVerdict({
      path: '/dev/ttyUSB0',
      ok: true,
      detail: 'The port opens, but no device answered (a scanner only sends when it reads a label)',
    });
    assert.deepEqual(v, {
      ok: false,
      text: '✘ No device answered. The port opens (a scanner only sends when it reads a label).',
    });
    assert.equal(portVerdict({ path: 'x', ok: true, detail: 'A device answered: imprint-sim' }).ok, true);
    assert.equal(portVerdict({ path: 'x', ok: false, detail: 'Port busy' }).text, '✘ Port busy');
    // The station's structured answer decides, whatever the sentence says.
    assert.equal(
      portVerdict({ path: 'x', ok: false, answered: 'nothing', detail: 'silence' }).text,
      '✘ No device answered. The port opens.',
    );
    assert.equal(portVerdict({ path: 'x', ok: true, answered: 'in-use', detail: 'In use by a running fixture' }).ok, true);
  });
});
