// The example exchange in docs/device-protocol.md, replayed against the simulator byte for byte.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { parseLine } from '../../src/serial/frame-codec.ts';
import { DeviceSimulator } from '../../src/sim/device-simulator.ts';
import { createDuplexPair } from '../../src/sim/duplex-pair.ts';

it('the documented transcript is what the simulator answers', async () => {
  const doc = readFileSync(new URL('../../docs/device-protocol.md', import.meta.url), 'utf8');
  const block = /```transcript\n([\s\S]*?)```/.exec(doc);
  assert.ok(block, 'docs/device-protocol.md has a transcript block');
  const lines = block[1].trim().split('\n');
  assert.ok(lines.length >= 14);
  for (const line of lines) assert.equal(parseLine(line).kind, 'frame', `valid frame with a correct CRC: ${line}`);

  const sim = new DeviceSimulator({ hardwareSerial: 'SN123456', model: 'acme-gw', firmware: '2.1.0' });
  const [station, device] = createDuplexPair();
  sim.attach(device);
  let received = '';
  station.on('data', (d) => {
    received += d;
  });
  for (let i = 0; i < lines.length; i += 2) {
    assert.ok(lines[i].startsWith('>') && lines[i + 1].startsWith('<'));
    received = '';
    station.write(`${lines[i]}\n`);
    for (let n = 0; n < 100 && !received.includes('\n'); n++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(received, `${lines[i + 1]}\n`);
  }
  station.destroy();
});
