// Section 6 of docs/device-protocol.md is the station's real sequence: the real station, on a real
// PTY fixture port, provisions the simulator, and the frames it sends are the documented ones
// (sequence numbers counted from the first, the random secret masked).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { closePort, openDevicePort } from '../../src/serial/ports.ts';
import { DeviceSimulator, type SimFrameEvent } from '../../src/sim/device-simulator.ts';
import { createPtyPair } from '../../src/sim/pty-pair.ts';
import { Station } from '../../src/station/station.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';
import { transcriptBlocks } from './doc-transcripts.ts';

/** A request line as compared: sequence number relative to the first, secret masked, no CRC. */
function shape(line: string, firstSeq: number): string {
  // Sequence numbers run 0001..FFFF and wrap: count modulo 65535.
  const seq = (Number.parseInt(line.slice(1, 5), 16) - firstSeq + 0xffff) % 0xffff;
  const body = line.slice(5, line.lastIndexOf(' *')).replace(/ secret=\S+/, ' secret=<secret>');
  return `>+${seq}${body}`;
}

test('the station sends exactly the sequence documented in section 6', async (t) => {
  const block = transcriptBlocks().find((b) => b.station);
  assert.ok(block, 'docs/device-protocol.md has a `transcript station` block');
  const documented = block.lines.filter((l) => l.startsWith('>'));

  const dir = mkdtempSync(join(tmpdir(), 'imprint-sequence-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const pair = await createPtyPair({ name: 'seq' });
  t.after(() => pair.close());
  const port = await openDevicePort(pair.devicePath);
  t.after(() => closePort(port));
  const sim = new DeviceSimulator({ hardwareSerial: 'SN123456', model: 'acme-gw', firmware: '2.1.0', mac: block.options.mac });
  const received: string[] = [];
  sim.on('frame', (f: SimFrameEvent) => {
    if (f.dir === 'rx') received.push(f.line);
  });
  sim.attach(port);

  const config = {
    ...defaultStationConfig(),
    stationId: 'doc-station',
    realm: 'plant1',
    pairingUrl: 'https://pairing.example.com/pairing',
    brokerUrl: 'mqtts://broker.example.com:8883',
    fixtures: [{ id: 'bay-1', devicePort: pair.stationPath }],
  };
  const station = await Station.open({ dataDir: dir, config, operator: 'doc', maxDevices: 1 });
  try {
    await station.start();
    await station.whenIdle();
    assert.equal(station.summary().passed, 1, JSON.stringify(station.fixtures()[0].failure));
  } finally {
    await station.close();
  }
  const first = Number.parseInt(received[0].slice(1, 5), 16);
  const firstDoc = Number.parseInt(documented[0].slice(1, 5), 16);
  assert.deepEqual(
    received.slice(0, documented.length).map((l) => shape(l, first)),
    documented.map((l) => shape(l, firstDoc)),
  );
  assert.equal(sim.storage.status().state, 'locked');
});
