// How the station fits CONFIG into a device's frame limit, and what makes it refuse a device.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceUnsuitable, planConfig, requestBytes } from '../../src/serial/config-parts.ts';
import type { DeviceHello } from '../../src/serial/device-types.ts';

const hello = (o: Partial<DeviceHello> = {}): DeviceHello => ({
  protocolVersion: 1,
  minor: 1,
  model: 'm',
  firmware: '1',
  capabilities: ['write', 'lock', 'config'],
  maxFrameBytes: 512,
  ...o,
});
const CONFIG = {
  realm: 'plant1',
  deviceId: '9j7xrpyUVAmDvLQu4-Esnw',
  pairingUrl: 'https://pairing.example.com/pairing',
  brokerUrl: 'mqtts://broker.example.com:8883',
};

describe('planConfig', () => {
  it('sends one frame when it fits, to v1.0 and v1.1 devices alike', () => {
    for (const minor of [0, 1]) {
      const plan = planConfig(CONFIG, hello({ minor }));
      assert.deepEqual(plan, {
        parts: [{ realm: 'plant1', device_id: CONFIG.deviceId, pairing_url: CONFIG.pairingUrl, broker_url: CONFIG.brokerUrl }],
      });
    }
  });

  it('splits into the fewest parts that each fit, more=1 on all but the last, for a v1.1 device', () => {
    for (const max of [128, 100, 90]) {
      const plan = planConfig(CONFIG, hello({ maxFrameBytes: max }));
      assert.ok('parts' in plan, `max=${max}`);
      assert.ok(plan.parts.length >= 2);
      for (const [i, part] of plan.parts.entries()) {
        assert.ok(requestBytes('CONFIG', part) <= max, `part ${i} fits in ${max}`);
        assert.equal(part.more, i < plan.parts.length - 1 ? '1' : undefined);
      }
      const merged = Object.assign({}, ...plan.parts.map(({ more: _, ...rest }) => rest));
      assert.deepEqual(Object.keys(merged), ['realm', 'device_id', 'pairing_url', 'broker_url'], 'keys in order, none lost');
    }
  });

  it('refuses, before anything is sent, a v1.0 device it cannot serve in one frame, and a value no part can carry', () => {
    const v10 = planConfig(CONFIG, hello({ minor: 0, maxFrameBytes: 128 }));
    assert.deepEqual(v10, {
      refused: `CONFIG needs ${requestBytes('CONFIG', { realm: 'plant1', device_id: CONFIG.deviceId, pairing_url: CONFIG.pairingUrl, broker_url: CONFIG.brokerUrl })} bytes, the device takes 128 and speaks protocol 1.0 (no CONFIG parts)`,
      cause: 'device',
    });
    const long = planConfig({ ...CONFIG, pairingUrl: `https://${'p'.repeat(120)}` }, hello({ maxFrameBytes: 128 }));
    assert.ok('refused' in long && long.cause === 'device');
  });

  it('never sends more than 512 bytes, whatever the device announces', () => {
    const plan = planConfig(
      { ...CONFIG, pairingUrl: `https://${'p'.repeat(248)}`, brokerUrl: `mqtts://${'b'.repeat(248)}` },
      hello({ maxFrameBytes: 4096 }),
    );
    assert.ok('parts' in plan && plan.parts.length === 2 && plan.parts.every((p) => requestBytes('CONFIG', p) <= 512));
  });

  it("refuses the station's own config when it breaks the protocol's value rules", () => {
    for (const bad of [
      { realm: 'Plant' },
      { pairingUrl: 'ftp://x' },
      { pairingUrl: `https://${'p'.repeat(249)}` },
      { brokerUrl: 'broker:1883' },
    ]) {
      const plan = planConfig({ ...CONFIG, ...bad }, hello());
      assert.ok('refused' in plan && plan.cause === 'config', JSON.stringify(bad));
    }
  });
});

describe('deviceUnsuitable', () => {
  it('needs write, lock and config, and a max of at least 128', () => {
    assert.equal(deviceUnsuitable(hello()), undefined);
    assert.equal(deviceUnsuitable(hello({ capabilities: ['write', 'config', 'reset'] })), 'the device lacks the capability lock');
    assert.equal(deviceUnsuitable(hello({ capabilities: ['write'] })), 'the device lacks the capabilities lock, config');
    assert.match(deviceUnsuitable(hello({ maxFrameBytes: 127 })) ?? '', /max=127, below the minimum of 128/);
  });
});
