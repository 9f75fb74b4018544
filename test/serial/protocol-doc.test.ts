// Every transcript block in docs/device-protocol.md, replayed against the simulator byte for byte,
// and the CONFIG-in-parts example checked against what the station's client would send.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { planConfig } from '../../src/serial/config-parts.ts';
import { parseLine } from '../../src/serial/frame-codec.ts';
import { DeviceSimulator } from '../../src/sim/device-simulator.ts';
import { createDuplexPair } from '../../src/sim/duplex-pair.ts';
import { transcriptBlocks } from './doc-transcripts.ts';

it('every documented transcript is what the simulator answers, byte for byte', async () => {
  const blocks = transcriptBlocks();
  assert.ok(blocks.length >= 3, 'the station sequence, other exchanges, CONFIG in parts');
  for (const block of blocks) {
    const sim = new DeviceSimulator({
      hardwareSerial: 'SN123456',
      model: 'acme-gw',
      firmware: '2.1.0',
      mac: block.options.mac,
      maxFrameBytes: block.options.max ? Number(block.options.max) : undefined,
    });
    const [station, device] = createDuplexPair();
    sim.attach(device);
    let received = '';
    station.on('data', (d) => {
      received += d;
    });
    for (let i = 0; i < block.lines.length; i += 2) {
      const [request, reply] = [block.lines[i], block.lines[i + 1]];
      assert.ok(request.startsWith('>') && reply.startsWith('<'), `a request and its reply: ${request}`);
      assert.equal(parseLine(reply).kind, 'frame', `a valid reply frame with a correct CRC: ${reply}`);
      received = '';
      station.write(`${request}\n`);
      for (let n = 0; n < 200 && !received.includes('\n'); n++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(received, `${reply}\n`, `the reply to ${request}`);
    }
    station.destroy();
  }
});

it('the CONFIG-in-parts example is how the station splits CONFIG for max=128', () => {
  const block = transcriptBlocks().find((b) => b.options.max === '128');
  assert.ok(block);
  const sent = block.lines
    .map((l) => parseLine(l))
    .flatMap((r) => (r.kind === 'frame' && r.frame.verb === 'CONFIG' ? [r.frame.args] : []));
  const plan = planConfig(
    {
      realm: 'plant1',
      deviceId: '9j7xrpyUVAmDvLQu4-Esnw',
      pairingUrl: 'https://pairing.example.com/pairing',
      brokerUrl: 'mqtts://broker.example.com:8883',
    },
    { protocolVersion: 1, minor: 1, model: 'acme-gw', firmware: '2.1.0', capabilities: [], maxFrameBytes: 128 },
  );
  assert.deepEqual(plan, { parts: sent });
});
