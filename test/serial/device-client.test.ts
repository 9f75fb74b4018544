// The device client against the simulator in-process (stream pair and mock binding): every command,
// write-once rules, every fault mode, and logs that never hold a secret.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { DeviceError } from '../../src/serial/device-error.ts';
import { secretDigest } from '../../src/serial/device-types.ts';
import { createInProcessDevice, type InProcessDeviceOptions } from '../../src/sim/in-process-device.ts';

const newSecret = () => randomBytes(32).toString('base64');
const CONFIG = {
  realm: 'test',
  deviceId: 'AJInS0w3VpWpuOqkXhgZdA',
  pairingUrl: 'https://pairing.example.com',
  brokerUrl: 'mqtts://broker.example.com:8883',
};
const dir = mkdtempSync(join(tmpdir(), 'imprint-serial-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function device(opts: Partial<InProcessDeviceOptions> = {}) {
  return createInProcessDevice({
    hardwareSerial: 'SN-0001',
    ...opts,
    clientOpts: { timeoutMs: 100, retries: 3, ...opts.clientOpts },
  });
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<DeviceError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof DeviceError, `expected a DeviceError, got ${e}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

for (const transport of ['stream-pair', 'mock-binding'] as const) {
  describe(`provisioning exchange over ${transport}`, () => {
    it('hello, identity, status, write, status, lock, config, identity', async () => {
      const d = await device({ transport, model: 'acme-gw', firmware: '2.1.0' });
      const c = d.client;
      const hello = await c.hello();
      assert.deepEqual(hello, {
        protocolVersion: 1,
        minor: 1,
        model: 'acme-gw',
        firmware: '2.1.0',
        capabilities: ['write', 'lock', 'config'],
        maxFrameBytes: 512,
      });
      assert.deepEqual(await c.identity(), { hardwareSerial: 'SN-0001' });
      assert.deepEqual(await c.storageStatus(), { state: 'empty' });
      const secret = newSecret();
      const { digest } = await c.writeSecret(secret);
      assert.equal(digest, secretDigest(secret), 'the device proves what it stored with its SHA-256');
      assert.deepEqual(await c.storageStatus(), { state: 'written', digest });
      await c.lock();
      assert.deepEqual(await c.storageStatus(), { state: 'locked', digest });
      await c.writeConfig(CONFIG);
      assert.deepEqual(await c.identity(), { hardwareSerial: 'SN-0001', deviceId: CONFIG.deviceId });
      await d.close();
    });
  });
}

describe('write-once secure storage', () => {
  it('rewriting the same secret is idempotent; a different one is ALREADY_WRITTEN; after lock it is LOCKED', async () => {
    const d = await device();
    const secret = newSecret();
    const first = await d.client.writeSecret(secret);
    assert.deepEqual(await d.client.writeSecret(secret), first);
    await rejectsWith(d.client.writeSecret(newSecret()), 'ALREADY_WRITTEN');
    assert.deepEqual(await d.client.storageStatus(), { state: 'written', digest: first.digest });
    await d.client.lock();
    await d.client.lock(); // idempotent
    await rejectsWith(d.client.writeSecret(newSecret()), 'LOCKED');
    await d.close();
  });

  it('refuses to lock empty storage and rejects malformed arguments', async () => {
    const d = await device();
    await rejectsWith(d.client.lock(), 'NOT_ALLOWED');
    await rejectsWith(d.client.writeSecret('not-a-secret'), 'BAD_ARGUMENT');
    await rejectsWith(d.client.writeConfig({ ...CONFIG, deviceId: 'short' }), 'BAD_ARGUMENT');
    await rejectsWith(d.client.writeConfig({ ...CONFIG, pairingUrl: 'ftp://x' }), 'BAD_ARGUMENT');
    assert.deepEqual(await d.client.storageStatus(), { state: 'empty' });
    await d.close();
  });

  it('factory reset only where allowed', async () => {
    const locked = await device();
    await rejectsWith(locked.client.factoryReset(), 'NOT_ALLOWED');
    await locked.close();
    const d = await device({ allowFactoryReset: true });
    assert.ok((await d.client.hello()).capabilities.includes('reset'));
    await d.client.writeSecret(newSecret());
    await d.client.lock();
    await d.client.factoryReset();
    assert.deepEqual(await d.client.storageStatus(), { state: 'empty' });
    await d.close();
  });

  it('persists storage in a file across restarts (a power cycle)', async () => {
    const storageFile = join(dir, 'persist.json');
    const secret = newSecret();
    const a = await device({ storageFile });
    await a.client.writeSecret(secret);
    await a.client.lock();
    await a.client.writeConfig(CONFIG);
    await a.close();
    const b = await device({ storageFile });
    assert.deepEqual(await b.client.storageStatus(), { state: 'locked', digest: secretDigest(secret) });
    assert.equal((await b.client.identity()).deviceId, CONFIG.deviceId);
    await b.close();
  });
});

describe('protocol errors', () => {
  it('unknown commands and unsupported versions get explicit error replies', async () => {
    const d = await device({ clientOpts: { timeoutMs: 100 } });
    // The client only sends known commands; drive the link directly as a newer station would.
    const { FramedLink } = await import('../../src/serial/framed-link.ts');
    const { createDuplexPair } = await import('../../src/sim/duplex-pair.ts');
    const [station, dev] = createDuplexPair();
    d.simulator.attach(dev);
    const link = new FramedLink(station, { timeoutMs: 100 });
    const unknown = await link.request('FROB');
    assert.deepEqual([unknown.verb, unknown.args.code], ['ERR', 'UNKNOWN_COMMAND']);
    const version = await link.request('HELLO', { v: '7,8' });
    assert.deepEqual([version.verb, version.args.code], ['ERR', 'UNSUPPORTED_VERSION']);
    station.destroy();
    await d.close();
  });
});

describe('sessions and the reply cache', () => {
  it('a client starts every connection with HELLO, even when the first call is another command', async () => {
    const d = await device();
    assert.deepEqual(await d.client.storageStatus(), { state: 'empty' });
    assert.equal(d.simulator.frameCount.rx, 2);
    await d.client.identity();
    assert.equal(d.simulator.frameCount.rx, 3, 'only once');
    await d.close();
  });

  it('a repeated sequence number is answered from the cache, until HELLO starts a new session', async () => {
    const { DeviceSimulator } = await import('../../src/sim/device-simulator.ts');
    const { createDuplexPair } = await import('../../src/sim/duplex-pair.ts');
    const { encodeFrame, FrameDecoder } = await import('../../src/serial/frame-codec.ts');
    const sim = new DeviceSimulator({ hardwareSerial: 'SN-C' });
    const [station, dev] = createDuplexPair();
    sim.attach(dev);
    const decoder = new FrameDecoder();
    const replies: Record<string, string>[] = [];
    station.on('data', (chunk) => {
      for (const r of decoder.push(chunk)) if (r.kind === 'frame') replies.push(r.frame.args);
    });
    const send = async (seq: number, verb: string, args: Record<string, string> = {}) => {
      const before = replies.length;
      station.write(encodeFrame({ dir: '>', seq, verb, args }));
      for (let i = 0; i < 100 && replies.length === before; i++) await new Promise((r) => setTimeout(r, 5));
      return replies.at(-1)!;
    };
    assert.equal((await send(5, 'STATUS')).state, 'empty');
    assert.ok((await send(6, 'WRITE', { secret: newSecret() })).digest);
    assert.equal((await send(5, 'STATUS')).state, 'empty', 'a retransmission gets the original answer');
    await send(7, 'HELLO', { v: '1' });
    assert.equal((await send(5, 'STATUS')).state, 'written', 'a new session executes it afresh');
    station.destroy();
  });
});

describe('fault injection', () => {
  it('lost and corrupted bytes are survived through retries, and nothing is executed twice', async () => {
    const d = await device({
      faults: { dropRate: 0.15, corruptRate: 0.15 },
      seed: 42,
      clientOpts: { timeoutMs: 50, writeTimeoutMs: 50, retries: 8 },
    });
    const c = d.client;
    for (let round = 0; round < 5; round++) {
      await c.hello();
      assert.equal((await c.identity()).hardwareSerial, 'SN-0001');
    }
    const secret = newSecret();
    assert.equal((await c.writeSecret(secret)).digest, secretDigest(secret));
    await c.lock();
    await c.writeConfig(CONFIG);
    assert.deepEqual(await c.storageStatus(), { state: 'locked', digest: secretDigest(secret) });
    assert.ok(c.stats.retransmissions > 0, 'faults were injected and retried');
    assert.ok(d.simulator.frameCount.badRx + c.stats.discarded > 0, 'corruption was detected');
    await d.close();
  });

  it('a silent device ends in TIMEOUT after the configured retries', async () => {
    const d = await device({ faults: { silent: true }, clientOpts: { timeoutMs: 30, retries: 2 } });
    const e = await rejectsWith(d.client.hello(), 'TIMEOUT');
    assert.equal(e.details?.attempts, 3);
    await d.close();
  });

  it('slow replies succeed when within the timeout and time out when not', async () => {
    const d = await device({
      replyDelayMs: 60,
      writeLatencyMs: 80,
      clientOpts: { timeoutMs: 200, writeTimeoutMs: 400, retries: 1 },
    });
    assert.equal((await d.client.identity()).hardwareSerial, 'SN-0001');
    const secret = newSecret();
    assert.equal((await d.client.writeSecret(secret)).digest, secretDigest(secret));
    await d.close();
    const slow = await device({ replyDelayMs: 150, clientOpts: { timeoutMs: 40, retries: 1 } });
    await rejectsWith(slow.client.identity(), 'TIMEOUT');
    await slow.close();
  });

  it('a disconnect mid-write fails DISCONNECTED at once; after reconnect STATUS tells the truth', async () => {
    const d = await device({
      faults: { disconnectMidWrite: true },
      writeLatencyMs: 20,
      clientOpts: { timeoutMs: 100, writeTimeoutMs: 5000 },
    });
    const secret = newSecret();
    const started = Date.now();
    await rejectsWith(d.client.writeSecret(secret), 'DISCONNECTED');
    assert.ok(Date.now() - started < 4000, 'not after the write timeout');
    await rejectsWith(d.client.storageStatus(), 'DISCONNECTED');
    const c = await d.replug();
    assert.deepEqual(await c.storageStatus(), { state: 'written', digest: secretDigest(secret) });
    assert.equal((await c.writeSecret(secret)).digest, secretDigest(secret), 'the retried write is idempotent');
    await d.close();
  });

  it('power loss during a write leaves the storage torn, and torn storage refuses writes', async () => {
    const storageFile = join(dir, 'torn.json');
    const d = await device({ storageFile, faults: { powerLossDuringWrite: true }, writeLatencyMs: 20 });
    await rejectsWith(d.client.writeSecret(newSecret()), 'DISCONNECTED');
    await d.close();
    const after = await device({ storageFile });
    assert.deepEqual(await after.client.storageStatus(), { state: 'torn' });
    await rejectsWith(after.client.writeSecret(newSecret()), 'TORN');
    await rejectsWith(after.client.lock(), 'TORN');
    await after.close();
  });

  it('pre-written storage: ALREADY_WRITTEN for another secret, idempotent for the same', async () => {
    const secret = newSecret();
    const d = await device({ faults: { preWrittenSecret: secret } });
    assert.deepEqual(await d.client.storageStatus(), { state: 'written', digest: secretDigest(secret) });
    await rejectsWith(d.client.writeSecret(newSecret()), 'ALREADY_WRITTEN');
    assert.equal((await d.client.writeSecret(secret)).digest, secretDigest(secret));
    await d.close();
  });

  it('a device can report another identity than its label', async () => {
    const d = await device({ reportedSerial: 'SN-9999' });
    assert.equal((await d.client.identity()).hardwareSerial, 'SN-9999');
    await d.close();
  });
});

describe('diagnostic logs', () => {
  it('log every frame at debug level and never the secret', async () => {
    let text = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        text += chunk;
        cb();
      },
    });
    const logger = pino({ level: 'debug' }, sink);
    const d = await device({
      logger,
      faults: { corruptRate: 0.3, dropRate: 0.2 },
      seed: 7,
      clientOpts: { logger, timeoutMs: 40, writeTimeoutMs: 40, retries: 10 },
    });
    const secret = newSecret();
    await d.client.writeSecret(secret);
    await d.client.writeSecret(secret);
    await rejectsWith(d.client.writeSecret(newSecret()), 'ALREADY_WRITTEN');
    await d.close();
    assert.match(text, /WRITE secret=\[redacted\]/);
    assert.ok(text.includes(secretDigest(secret)), 'digests are logged');
    for (let i = 0; i + 12 <= secret.length; i += 4) {
      assert.ok(!text.includes(secret.slice(i, i + 12)), 'no piece of the secret reaches the log');
    }
  });
});
