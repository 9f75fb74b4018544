// A fixture's port stays open from one device to the next, so each new device must get its own HELLO:
// the station checks a device by what that device announces (its frame limit, its protocol minor, its
// capabilities), never by what the device before it on the same port announced.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
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

/** The outcome of the first finished device with this serial (bounded: a hang fails the test). */
function finished(station: Station, serial: string): Promise<FixtureState> {
  let off = () => {};
  const found = new Promise<FixtureState>((resolve) => {
    off = station.subscribe((e) => {
      if (
        e.type === 'fixture' &&
        e.fixture.hardwareSerial === serial &&
        (e.fixture.outcome === 'pass' || e.fixture.outcome === 'fail')
      )
        resolve(e.fixture);
    });
  });
  return withTimeout(found, 60_000, `no outcome for ${serial}`).finally(() => off());
}

// A realm name long enough that the CONFIG request (realm, device id, pairing and broker URLs) needs more
// than 128 bytes: a device taking 128-byte frames gets it in parts (protocol 1.1) or cannot take it (1.0).
const REALM = 'plantnorthlinesevenfactoryregistrationrealm';

test("a device swapped in on an open port is checked by its own HELLO, not the previous device's", {
  skip: socatSkip,
}, async () => {
  let device: PtyDevice | undefined;
  let station: Station | undefined;
  try {
    const storage = (n: number) => join(dataDir, `device-${n}.storage`);
    const dataDir = mkdtempSync(join(tmpdir(), 'imprint-device-swap-'));
    dirs.push(dataDir);
    // The fixture's adapter stays: the station's port is never closed while the devices change.
    // First a protocol 1.0 device that takes 512-byte frames: the CONFIG goes whole.
    device = await spawnPtyDevice(
      { hardwareSerial: 'SWAP-0001', protocolMinor: 0, storageFile: storage(1) },
      { adapterStays: true },
    );
    station = await Station.open({
      dataDir,
      config: { ...defaultStationConfig(), realm: REALM, fixtures: [{ id: 'F1', devicePort: device.path }] },
      operator: 'Sam',
    });
    const s = station;
    const one = finished(s, 'SWAP-0001');
    await s.start();
    const r1 = await one;
    assert.equal(r1.outcome, 'pass', `SWAP-0001: ${r1.failure?.code} ${r1.failure?.message}`);

    // Then, on the same port, a 1.1 device taking 128-byte frames: it must get the CONFIG in parts. Judged by
    // the first device's HELLO it would get one frame longer than it takes, after its secret was locked.
    const two = finished(s, 'SWAP-0002');
    await device.restart({ hardwareSerial: 'SWAP-0002', protocolMinor: 1, maxFrameBytes: 128, storageFile: storage(2) });
    const r2 = await two;
    assert.equal(r2.outcome, 'pass', `SWAP-0002: ${r2.failure?.code} ${r2.failure?.message}`);

    // Then a 1.0 device taking 128-byte frames cannot take this CONFIG at all: refused before anything is
    // registered or written (UNSUPPORTED_DEVICE), its storage left empty.
    const three = finished(s, 'SWAP-0003');
    await device.restart({ hardwareSerial: 'SWAP-0003', protocolMinor: 0, maxFrameBytes: 128, storageFile: storage(3) });
    const r3 = await three;
    assert.equal(r3.outcome, 'fail');
    assert.equal(r3.failure?.code, 'UNSUPPORTED_DEVICE', r3.failure?.message);
    assert.equal(s.audit.query({ step: 'register', hardwareSerial: 'SWAP-0002' }).length, 1, 'the one before was');
    assert.equal(s.audit.query({ step: 'register', hardwareSerial: 'SWAP-0003' }).length, 0, 'never registered');
  } finally {
    await station?.close();
    await device?.stop();
  }
});
