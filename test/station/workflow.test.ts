// Every branch of the provisioning workflow against in-process simulated devices and the embedded
// pairing core: what the device holds, what the core accepts, what the vault and the trail say.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { PairingError } from '../../src/pairing/pairing-api.ts';
import { RemotePairingClient } from '../../src/pairing/remote-client.ts';
import type { DeviceClient } from '../../src/serial/device-types.ts';
import { secretDigest } from '../../src/serial/device-types.ts';
import { createInProcessDevice } from '../../src/sim/in-process-device.ts';
import { FAILURES } from '../../src/station/failure-codes.ts';
import { FAST_CLIENT, type Harness, openHarness, REALM } from './station-harness.ts';

let serialNo = 0;
const nextSerial = () => `TST-${process.pid}-${++serialNo}`;
const otherSecret = () => Buffer.alloc(32, serialNo).toString('base64');

function recordEvents(h: Harness, serial: string) {
  return h.audit.query({ hardwareSerial: serial, step: 'record' });
}

describe('provisioning workflow', () => {
  let h: Harness;
  before(async () => {
    h = await openHarness();
  });
  after(async () => {
    await h.close();
  });

  test('a new device passes: registered, written, verified, locked, configured, recorded', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: serial, operator: 'ann' });
      assert.equal(r.outcome, 'pass', JSON.stringify(r.failure));
      assert.equal(r.kind, 'new');
      const deviceId = deriveDeviceId(serial);
      assert.equal(r.deviceId, deviceId);
      const status = await dev.client.storageStatus();
      assert.equal(status.state, 'locked');
      const secret = h.pairing.secrets.at(-1)!;
      assert.equal(status.state === 'locked' && status.digest, secretDigest(secret));
      // The core accepts exactly the secret the device holds.
      const info = await h.core.getInfo(REALM, deviceId, secret);
      assert.equal(info.status, 'pending');
      assert.deepEqual(dev.simulator.storage.config, {
        realm: REALM,
        deviceId,
        pairingUrl: 'http://pairing.test:4003',
        brokerUrl: 'mqtts://broker.test:8883/',
      });
      assert.equal(h.vault.pending().length, 0, 'the write-ahead record is wiped once confirmed');
      assert.equal(h.db.device(deviceId)?.state, 'provisioned');
      const steps = h.audit.query({ hardwareSerial: serial }).map((e) => `${e.step}:${e.outcome}`);
      for (const s of [
        'identify',
        'cross-check',
        'storage-status',
        'register',
        'write-secret',
        'verify',
        'lock',
        'write-config',
        'record',
      ]) {
        assert.ok(steps.includes(`${s}:ok`), `missing ${s}:ok in ${steps}`);
      }
      const rec = recordEvents(h, serial)[0];
      assert.equal(rec.operator, 'ann');
      assert.match(rec.secretFingerprint ?? '', /^fp1:/);
    } finally {
      await dev.close();
    }
  });

  test('a label that disagrees with the device fails LABEL_MISMATCH and registers nothing', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    try {
      const before = h.pairing.registrations;
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: `${serial}-SWAP` });
      assert.equal(r.outcome, 'fail');
      assert.equal(r.failure?.code, 'LABEL_MISMATCH');
      assert.equal(r.failure?.action, FAILURES.LABEL_MISMATCH.action);
      assert.equal(h.pairing.registrations, before);
      assert.equal((await dev.client.storageStatus()).state, 'empty');
      assert.equal(recordEvents(h, serial)[0]?.errorCode, 'LABEL_MISMATCH');
    } finally {
      await dev.close();
    }
  });

  test('a device reporting a wrong identity (simulator fault) is caught by the label check', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial, reportedSerial: `${serial}X` });
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: serial });
      assert.equal(r.failure?.code, 'LABEL_MISMATCH');
    } finally {
      await dev.close();
    }
  });

  test('an unreadable label fails LABEL_UNREADABLE', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: '!!' });
      assert.equal(r.failure?.code, 'LABEL_UNREADABLE');
    } finally {
      await dev.close();
    }
  });

  test('storage holding an unknown secret fails UNKNOWN_SECRET without registering', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial, faults: { preWrittenSecret: otherSecret() } });
    try {
      const before = h.pairing.registrations;
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client });
      assert.equal(r.failure?.code, 'UNKNOWN_SECRET');
      assert.equal(h.pairing.registrations, before);
    } finally {
      await dev.close();
    }
  });

  test('a locked device with a secret from elsewhere is ALREADY_PROVISIONED, not re-registered', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial, faults: { preWrittenSecret: otherSecret() } });
    try {
      await dev.client.lock();
      const before = h.pairing.registrations;
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client });
      assert.equal(r.failure?.code, 'ALREADY_PROVISIONED');
      assert.equal(h.pairing.registrations, before);
    } finally {
      await dev.close();
    }
  });

  test('a device provisioned here is not registered again on a second pass', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    try {
      assert.equal((await h.workflow.provision({ fixture: 'f1', device: dev.client })).outcome, 'pass');
      const secret = h.pairing.secrets.at(-1)!;
      const before = h.pairing.registrations;
      const r = await h.workflow.provision({ fixture: 'f2', device: dev.client });
      assert.equal(r.failure?.code, 'ALREADY_PROVISIONED');
      assert.equal(h.pairing.registrations, before);
      // The secret the device holds still works: nothing replaced it.
      await h.core.getInfo(REALM, deriveDeviceId(serial), secret);
    } finally {
      await dev.close();
    }
  });

  test('unplugged mid-write: the sealed record survives; on re-plug the pending secret is completed, not re-registered', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({
      hardwareSerial: serial,
      faults: { disconnectMidWrite: true },
      clientOpts: FAST_CLIENT,
    });
    try {
      const r1 = await h.workflow.provision({ fixture: 'f1', device: dev.client });
      assert.equal(r1.failure?.code, 'DEVICE_DISCONNECTED');
      const pending = h.vault.pending().filter((p) => p.hardwareSerial === serial);
      assert.equal(pending.length, 1, 'the write-ahead record is kept while the outcome is unknown');
      const registrations = h.pairing.registrations;
      const client = await dev.replug();
      const r2 = await h.workflow.provision({ fixture: 'f1', device: client });
      assert.equal(r2.outcome, 'pass', JSON.stringify(r2.failure));
      assert.equal(r2.kind, 'resumed');
      assert.equal(h.pairing.registrations, registrations, 'not registered again');
      assert.equal(h.vault.pending().filter((p) => p.hardwareSerial === serial).length, 0);
      await h.core.getInfo(REALM, deriveDeviceId(serial), h.pairing.secrets.at(-1)!);
      assert.equal((await client.storageStatus()).state, 'locked');
    } finally {
      await dev.close();
    }
  });

  test('power loss during the write leaves torn storage: STORAGE_TORN, record wiped', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({
      hardwareSerial: serial,
      faults: { powerLossDuringWrite: true },
      clientOpts: FAST_CLIENT,
    });
    try {
      const r1 = await h.workflow.provision({ fixture: 'f1', device: dev.client });
      assert.equal(r1.outcome, 'fail');
      assert.ok(['DEVICE_DISCONNECTED', 'STORAGE_TORN'].includes(r1.failure!.code), r1.failure!.code);
      const r2 = await h.workflow.provision({ fixture: 'f1', device: await dev.replug() });
      assert.equal(r2.failure?.code, 'STORAGE_TORN');
      assert.equal(h.vault.pending().filter((p) => p.hardwareSerial === serial).length, 0);
    } finally {
      await dev.close();
    }
  });

  test('a silent device fails DEVICE_TIMEOUT before anything is registered', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial, faults: { silent: true }, clientOpts: FAST_CLIENT });
    try {
      const before = h.pairing.registrations;
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client });
      assert.equal(r.failure?.code, 'DEVICE_TIMEOUT');
      assert.equal(h.pairing.registrations, before);
    } finally {
      await dev.close();
    }
  });

  test('a noisy line (dropped and corrupted bytes) still passes thanks to retries', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({
      hardwareSerial: serial,
      seed: 42,
      faults: { dropRate: 0.05, corruptRate: 0.05 },
      clientOpts: { timeoutMs: 100, writeTimeoutMs: 400, retries: 6 },
    });
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client });
      assert.equal(r.outcome, 'pass', JSON.stringify(r.failure));
      const status = await dev.client.storageStatus();
      assert.equal(status.state === 'locked' && status.digest, secretDigest(h.pairing.secrets.at(-1)!));
    } finally {
      await dev.close();
    }
  });

  test('a slow device (reply delay) still passes within the client timeouts', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({
      hardwareSerial: serial,
      replyDelayMs: 30,
      clientOpts: { timeoutMs: 300, retries: 1 },
    });
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: serial });
      assert.equal(r.outcome, 'pass', JSON.stringify(r.failure));
      assert.ok(r.timing.deviceMs >= 30 * 6, 'the time went to the device, not the station');
    } finally {
      await dev.close();
    }
  });

  test('a device that stores something else fails DIGEST_MISMATCH and its record is wiped', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    const lying: DeviceClient = { ...dev.client, writeSecret: async () => ({ digest: 'f'.repeat(64) }) };
    for (const k of ['identity', 'storageStatus', 'lock', 'writeConfig', 'hello', 'close'] as const) {
      (lying as unknown as Record<string, unknown>)[k] = (dev.client[k] as (...a: unknown[]) => unknown).bind(dev.client);
    }
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: lying });
      assert.equal(r.failure?.code, 'DIGEST_MISMATCH');
      assert.equal(h.vault.pending().filter((p) => p.hardwareSerial === serial).length, 0);
    } finally {
      await dev.close();
    }
  });

  test('a failed lock leaves the device confirmed; the next pass finishes it without registering', async () => {
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    const client = dev.client;
    let failLock = true;
    const flaky: DeviceClient = {
      hello: () => client.hello(),
      identity: () => client.identity(),
      storageStatus: () => client.storageStatus(),
      writeSecret: (s) => client.writeSecret(s),
      lock: () => (failLock ? Promise.reject(new Error('lock refused')) : client.lock()),
      writeConfig: (c) => client.writeConfig(c),
      close: () => client.close(),
    };
    try {
      const r1 = await h.workflow.provision({ fixture: 'f1', device: flaky });
      assert.equal(r1.failure?.code, 'LOCK_FAILED');
      assert.equal(h.db.device(deriveDeviceId(serial))?.state, 'written');
      failLock = false;
      const before = h.pairing.registrations;
      const r2 = await h.workflow.provision({ fixture: 'f1', device: flaky });
      assert.equal(r2.outcome, 'pass');
      assert.equal(r2.kind, 'resumed');
      assert.equal(h.pairing.registrations, before);
      assert.equal(h.db.device(deriveDeviceId(serial))?.state, 'provisioned');
    } finally {
      await dev.close();
    }
  });
});

describe('device id rule and pairing failures', () => {
  test('as-scanned: the scanned device id is the device id', async () => {
    const h = await openHarness({ deviceIdRule: { kind: 'as-scanned' } });
    const serial = nextSerial();
    const deviceId = deriveDeviceId(`other-${serial}`, '6ba7b810-9dad-11d1-80b4-00c04fd430c8');
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    try {
      // A device-id label cannot be cross-checked against a serial under this rule: it is taken as is.
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: `ID:${deviceId}` });
      assert.equal(r.deviceId, deviceId, JSON.stringify(r.failure));
      const r2 = await h.workflow.provision({
        fixture: 'f1',
        device: (await createInProcessDevice({ hardwareSerial: nextSerial() })).client,
      });
      assert.equal(r2.failure?.code, 'INVALID_DEVICE_ID');
    } finally {
      await dev.close();
      await h.close();
    }
  });

  test('pairing core unreachable: a station fault, not a device failure; the device is left empty', async () => {
    // A closed port on 127.0.0.1: nothing listens there. The harness's gate does not wait.
    const h = await openHarness({
      pairing: () => new RemotePairingClient({ baseUrl: 'http://127.0.0.1:9', agentToken: 'x', timeoutMs: 500, retries: 0 }),
    });
    const serial = nextSerial();
    const dev = await createInProcessDevice({ hardwareSerial: serial });
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client, labelText: serial });
      assert.equal(r.outcome, 'interrupted');
      assert.equal(r.failure, undefined, 'the device is not failed for the station');
      assert.equal(r.interruptedBy?.code, 'PAIRING_CORE_UNREACHABLE');
      assert.equal((await dev.client.storageStatus()).state, 'empty');
      assert.equal(h.vault.pending().length, 0);
      assert.equal(h.audit.query({ step: 'record' }).length, 0, 'no record event: the device is not counted');
    } finally {
      await dev.close();
      await h.close();
    }
  });

  test('the core says the device is already registered and in use: DEVICE_ALREADY_REGISTERED', async () => {
    const h = await openHarness({
      pairing: (core) =>
        Object.assign(Object.create(core), {
          registerDevice: async () => {
            throw new PairingError('ALREADY_REGISTERED');
          },
        }),
    });
    const dev = await createInProcessDevice({ hardwareSerial: nextSerial() });
    try {
      const r = await h.workflow.provision({ fixture: 'f1', device: dev.client });
      assert.equal(r.failure?.code, 'DEVICE_ALREADY_REGISTERED');
      assert.equal((await dev.client.storageStatus()).state, 'empty');
    } finally {
      await dev.close();
      await h.close();
    }
  });
});
