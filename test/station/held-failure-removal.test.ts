// A held FAIL is released when its device is taken out of the fixture, as well as by Acknowledge:
// each device source gives a presence signal. On a real port (a socat PTY) the station polls
// IDENTITY; the simulated line's operator takes failed devices out. The release is recorded.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { AuditEvent } from '../../src/audit/audit-types.ts';
import { type PtyDevice, spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { Station } from '../../src/station/station.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';
import type { FixtureState } from '../../src/station/station-types.ts';
import { serviceSkip } from '../helpers/service-skip.ts';
import { withTimeout } from '../ui/station-harness.ts';

const socatSkip = serviceSkip('socat', spawnSync('socat', ['-V']).status === 0) ? 'socat is not installed' : false;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'imprint-held-removal-'));
  dirs.push(d);
  return d;
}

/** Resolves with the first event `pick` accepts (bounded, so a broken release fails the test instead of hanging it). */
function first<T>(station: Station, pick: (e: { fixture?: FixtureState; audit?: AuditEvent }) => T | undefined): Promise<T> {
  let off = () => {};
  const found = new Promise<T>((resolve) => {
    off = station.subscribe((e) => {
      const v = pick(e.type === 'fixture' ? { fixture: e.fixture } : e.type === 'audit' ? { audit: e.event } : {});
      if (v !== undefined) resolve(v);
    });
  });
  return withTimeout(found, 60_000, 'timed out').finally(() => off());
}

describe('a held FAIL released by taking the device out', () => {
  test('simulated line: the operator takes each failed device out; its FAIL is released and recorded, never acknowledged', async () => {
    const station = await Station.open({
      dataDir: dataDir(),
      simulate: { fixtures: 1, faultRate: 1, faults: ['pre-written'], removeFailedAfterMs: 50, inProcess: true },
      holdFailures: true,
      operator: 'Sam',
    });
    try {
      const held = first(station, ({ fixture }) => fixture?.heldFailure);
      const released: AuditEvent[] = [];
      const twoReleased = first(station, ({ audit }) => {
        if (audit?.step === 'fail-released') released.push(audit);
        return released.length >= 2 ? released : undefined;
      });
      await station.start();
      const h = await held;
      await twoReleased;
      assert.equal(released[0].hardwareSerial, h.hardwareSerial, 'the held device is the one released');
      assert.equal(released[0].errorCode, h.failure.code);
      assert.deepEqual(released[0].data, { by: 'device-removed' });
      assert.equal(released[0].operator, 'Sam');
      assert.equal(station.audit.query({ step: 'fail-acknowledged' }).length, 0, 'nobody acknowledged');
      // The fixture went on to the next device after each release.
      assert.ok(station.counters().failed >= 2);
    } finally {
      await station.close();
    }
  });

  test('simulated line without an operator who removes devices: the FAIL stays until acknowledged', async () => {
    const station = await Station.open({
      dataDir: dataDir(),
      simulate: { fixtures: 1, faultRate: 1, faults: ['pre-written'], inProcess: true },
      holdFailures: true,
      operator: 'Sam',
    });
    try {
      const held = first(station, ({ fixture }) => fixture?.heldFailure);
      await station.start();
      await held;
      const acknowledged = first(station, ({ audit }) => (audit?.step === 'fail-acknowledged' ? audit : undefined));
      await station.acknowledgeFailure('sim-01');
      await acknowledged;
      assert.equal(station.audit.query({ step: 'fail-released' }).length, 0);
    } finally {
      await station.close();
    }
  });

  test('a real port (socat PTY): the failed device swapped for another releases the FAIL, and the new one runs', {
    skip: socatSkip,
  }, async () => {
    let device: PtyDevice | undefined;
    let station: Station | undefined;
    try {
      device = await spawnPtyDevice({
        hardwareSerial: 'HELD-PTY-0001',
        faults: { preWrittenSecret: randomBytes(32).toString('base64') },
      });
      station = await Station.open({
        dataDir: dataDir(),
        config: { ...defaultStationConfig(), fixtures: [{ id: 'F1', devicePort: device.path }] },
        holdFailures: true,
        operator: 'Sam',
      });
      const s = station;
      const held = first(s, ({ fixture }) => fixture?.heldFailure);
      await s.start();
      assert.equal((await held).hardwareSerial, 'HELD-PTY-0001');

      const released = first(s, ({ audit }) => (audit?.step === 'fail-released' ? audit : undefined));
      const passed = first(s, ({ fixture }) =>
        fixture?.outcome === 'pass' && fixture.hardwareSerial === 'HELD-PTY-0002' ? fixture : undefined,
      );
      // Out with the failed device, in with a good one, on the same fixture port.
      await device.restart({ hardwareSerial: 'HELD-PTY-0002', faults: { preWrittenSecret: undefined } });
      const r = await released;
      assert.equal(r.hardwareSerial, 'HELD-PTY-0001');
      assert.equal(r.fixture, 'F1');
      await passed;
      assert.equal(s.fixtures()[0].heldFailure, undefined);
      assert.equal(s.audit.query({ step: 'fail-acknowledged' }).length, 0);
    } finally {
      await station?.close();
      await device?.stop();
    }
  });
});
