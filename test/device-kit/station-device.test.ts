// How the station treats what a v1.1 (or v1.0) device says: its frame limit (`max`), its identity
// keys (mac, gtin) against the label, and ALREADY_WRITTEN on WRITE. Real workflow, embedded core,
// vault and audit trail; simulated devices in-process.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { secretDigest } from '../../src/serial/device-types.ts';
import type { SimFrameEvent } from '../../src/sim/device-simulator.ts';
import { createInProcessDevice, type InProcessDeviceOptions } from '../../src/sim/in-process-device.ts';
import { type Harness, openHarness } from '../station/station-harness.ts';

let n = 0;
const serial = () => `KIT-${process.pid}-${++n}`;

describe('the station and what a device announces', () => {
  let h: Harness;
  before(async () => {
    h = await openHarness();
  });
  after(() => h.close());

  async function provision(opts: Omit<InProcessDeviceOptions, 'hardwareSerial'> & { hardwareSerial?: string }, label?: string) {
    const hardwareSerial = opts.hardwareSerial ?? serial();
    const dev = await createInProcessDevice({ ...opts, hardwareSerial });
    const frames: string[] = [];
    dev.simulator.on('frame', (f: SimFrameEvent) => {
      if (f.dir === 'rx') frames.push(f.line);
    });
    const registrations = h.pairing.registrations;
    try {
      const result = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: label ?? hardwareSerial });
      const steps = h.audit.query({ hardwareSerial }).map((e) => `${e.step}:${e.outcome}${e.errorCode ? `:${e.errorCode}` : ''}`);
      return {
        result,
        steps,
        frames,
        registered: h.pairing.registrations - registrations,
        storage: dev.simulator.storage,
      };
    } finally {
      await dev.close();
    }
  }

  test('a device announcing max=128 gets its CONFIG in parts that each fit, and passes', async () => {
    const run = await provision({ maxFrameBytes: 128 });
    assert.equal(run.result.outcome, 'pass', JSON.stringify(run.result.failure));
    const config = run.frames.filter((f) => f.includes(' CONFIG '));
    assert.ok(config.length >= 2, config.join('\n'));
    for (const f of config) assert.ok(f.length + 1 <= 128, `${f.length + 1} bytes: ${f}`);
    assert.match(config[0], / more=1 /);
    assert.equal(run.storage.config?.brokerUrl, 'mqtts://broker.test:8883/');
    assert.equal(run.storage.status().state, 'locked');
  });

  test('a v1.0 device announcing max=128 is refused before it is registered or written', async () => {
    const run = await provision({ maxFrameBytes: 128, protocolMinor: 0 });
    assert.equal(run.result.failure?.code, 'UNSUPPORTED_DEVICE');
    assert.match(run.result.failure?.message ?? '', /protocol 1\.0/);
    assert.equal(run.registered, 0);
    assert.deepEqual(run.storage.status(), { state: 'empty' });
    assert.ok(!run.frames.some((f) => / (WRITE|LOCK|CONFIG) /.test(f)), run.frames.join('\n'));
    assert.ok(!run.steps.some((s) => s.startsWith('register')), run.steps.join(' '));
  });

  test('ALREADY_WRITTEN on WRITE (another writer won the race after STATUS): UNKNOWN_SECRET, nothing pending, the trail says so', async () => {
    const theirs = randomBytes(32).toString('base64');
    const run = await provision({ faults: { raceWrite: theirs } });
    assert.equal(run.result.failure?.code, 'UNKNOWN_SECRET');
    assert.match(run.result.failure?.message ?? '', /ALREADY_WRITTEN/);
    assert.equal(run.registered, 1, 'registered before the write, as section 6 says');
    assert.equal(h.vault.pending().length, 0, 'the sealed secret is discarded');
    assert.ok(run.steps.includes('write-secret:fail:UNKNOWN_SECRET'), run.steps.join(' '));
    assert.ok(!run.steps.includes('lock:ok'));
    assert.deepEqual(run.storage.status(), { state: 'written', digest: secretDigest(theirs) }, 'their secret is untouched');
    // What the station sent: WRITE, then one STATUS to check whether its own secret landed.
    assert.deepEqual(run.frames.map((f) => f.split(' ')[1]).slice(-2), ['WRITE', 'STATUS']);
  });

  describe('label against identity keys', () => {
    const MAC = 'A4:CF:12:0B:9E:01';

    test('a MAC label matches the mac= the device reports', async () => {
      const run = await provision({ mac: MAC }, 'MAC:A4CF120B9E01');
      assert.equal(run.result.outcome, 'pass', JSON.stringify(run.result.failure));
    });

    test('a MAC label that differs from mac= is LABEL_MISMATCH, before registration', async () => {
      const run = await provision({ mac: 'A4:CF:12:0B:9E:02' }, MAC);
      assert.equal(run.result.failure?.code, 'LABEL_MISMATCH');
      assert.match(run.result.failure?.message ?? '', /label mac A4:CF:12:0B:9E:01, device mac A4:CF:12:0B:9E:02/);
      assert.equal(run.registered, 0);
    });

    test('a v1.0 device without mac=: a MAC label is compared with its serial', async () => {
      const same = await provision({ hardwareSerial: 'a4-cf-12-0b-9e-77', protocolMinor: 0 }, 'A4:CF:12:0B:9E:77');
      assert.equal(same.result.outcome, 'pass', JSON.stringify(same.result.failure));
      const other = await provision({ hardwareSerial: 'SNM0001', protocolMinor: 0 }, MAC);
      assert.equal(other.result.failure?.code, 'LABEL_MISMATCH');
      assert.match(other.result.failure?.message ?? '', /reports no mac, serial SNM0001/);
    });

    test('a GS1 label: its GTIN must match the gtin= the device reports', async () => {
      const s = serial();
      const label = `(01)09506000134352(21)${s}`;
      const good = await provision({ hardwareSerial: s, gtin: '09506000134352' }, label);
      assert.equal(good.result.outcome, 'pass', JSON.stringify(good.result.failure));
      const bad = await provision({ gtin: '09506000134369' }, `(01)09506000134352(21)${serial()}`);
      assert.equal(bad.result.failure?.code, 'LABEL_MISMATCH');
    });
  });
});
