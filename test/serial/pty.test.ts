// The real-port path: the simulator as a process on a socat PTY pair, the station on the real
// serialport binding. Few tests, each one a whole story.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createDeviceClient, type SerialDeviceClient } from '../../src/serial/device-client.ts';
import { DeviceError } from '../../src/serial/device-error.ts';
import { secretDigest } from '../../src/serial/device-types.ts';
import { closePort, listPorts, openDevicePort } from '../../src/serial/ports.ts';
import { ReconnectingPort } from '../../src/serial/reconnecting-port.ts';
import { ScannerReader, type ScanRead } from '../../src/serial/scanner-reader.ts';
import { spawnPtyDevice } from '../../src/sim/pty-device.ts';
import { createPtyPair } from '../../src/sim/pty-pair.ts';

const dir = mkdtempSync(join(tmpdir(), 'imprint-pty-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const newSecret = () => randomBytes(32).toString('base64');
const CONFIG = { realm: 'test', deviceId: 'AJInS0w3VpWpuOqkXhgZdA', pairingUrl: 'https://pairing.example.com' };

async function connect(path: string, opts = {}): Promise<SerialDeviceClient> {
  return createDeviceClient(await openDevicePort(path), {
    timeoutMs: 150,
    writeTimeoutMs: 1000,
    retries: 6,
    label: path,
    ...opts,
  });
}

function isCode(code: string) {
  return (e: unknown) => e instanceof DeviceError && e.code === code;
}

describe('device simulator on a PTY', () => {
  it('runs the whole provisioning exchange through lost and corrupted bytes', async (t) => {
    const dev = await spawnPtyDevice({
      hardwareSerial: 'SN-PTY-1',
      storageFile: join(dir, 'a.json'),
      seed: 3,
      faults: { dropRate: 0.1, corruptRate: 0.1 },
    });
    t.after(() => dev.stop());
    assert.ok((await listPorts([dev.path])).some((p) => p.path === dev.path && p.configured));
    const c = await connect(dev.path, { timeoutMs: 100, writeTimeoutMs: 200, retries: 10 });
    assert.equal((await c.hello()).protocolVersion, 1);
    assert.equal((await c.identity()).hardwareSerial, 'SN-PTY-1');
    assert.deepEqual(await c.storageStatus(), { state: 'empty' });
    const secret = newSecret();
    assert.equal((await c.writeSecret(secret)).digest, secretDigest(secret));
    await c.lock();
    await c.writeConfig(CONFIG);
    await assert.rejects(c.writeSecret(newSecret()), isCode('LOCKED'));
    assert.deepEqual(await c.storageStatus(), { state: 'locked', digest: secretDigest(secret) });
    await c.close();

    // What an engineer runs at the line: `imprint serial probe PATH`.
    const bin = fileURLToPath(new URL('../../bin/imprint.mjs', import.meta.url));
    const probe = spawn(process.execPath, [bin, 'serial', 'probe', dev.path, '--json', '--timeout', '100', '--retries', '10']);
    let out = '';
    probe.stdout.on('data', (d) => {
      out += d;
    });
    assert.equal(await new Promise((r) => probe.once('exit', r)), 0);
    const report = JSON.parse(out);
    assert.equal(report.identity.hardwareSerial, 'SN-PTY-1');
    assert.equal(report.identity.deviceId, CONFIG.deviceId);
    assert.deepEqual(report.storage, { state: 'locked', digest: secretDigest(secret) });
  });

  it('unplug mid-write: DISCONNECTED, the port comes back by itself, STATUS tells the truth', async (t) => {
    const dev = await spawnPtyDevice({
      hardwareSerial: 'SN-PTY-2',
      storageFile: join(dir, 'b.json'),
      faults: { disconnectMidWrite: true },
    });
    t.after(() => dev.stop());
    const port = new ReconnectingPort(dev.path, { initialDelayMs: 50, maxDelayMs: 200 });
    t.after(() => port.stop());
    const states: string[] = [];
    port.on('state', (s) => states.push(s));
    const c = createDeviceClient(await port.waitOpen(5000), { timeoutMs: 150, writeTimeoutMs: 5000, closeStream: false });
    const secret = newSecret();
    const reopened = new Promise((resolve) => port.once('open', resolve));
    await assert.rejects(c.writeSecret(secret), isCode('DISCONNECTED'));
    assert.equal(await dev.exited, 3);
    await dev.restart({ faults: { disconnectMidWrite: false } });
    await reopened;
    assert.ok(states.includes('waiting') && states.at(-1) === 'open', states.join(','));
    const c2 = createDeviceClient(port.current!, { timeoutMs: 150, closeStream: false });
    assert.deepEqual(await c2.storageStatus(), { state: 'written', digest: secretDigest(secret) });
    assert.equal((await c2.writeSecret(secret)).digest, secretDigest(secret));
  });

  it('a power cycle of the simulator (process restarted on the same PTY) keeps storage; power loss mid-write leaves it torn', async (t) => {
    const storageFile = join(dir, 'c.json');
    const dev = await spawnPtyDevice({ hardwareSerial: 'SN-PTY-3', storageFile, writeLatencyMs: 50 });
    t.after(() => dev.stop());
    const c = await connect(dev.path);
    const secret = newSecret();
    await c.writeSecret(secret);
    await dev.restart(); // the cable stays, the device reboots
    assert.deepEqual(
      await c.storageStatus(),
      { state: 'written', digest: secretDigest(secret) },
      'the same port and client carry on',
    );
    await c.close();

    rmSync(storageFile);
    await dev.restart({ faults: { powerLossDuringWrite: true } });
    const c2 = await connect(dev.path);
    await assert.rejects(c2.writeSecret(newSecret()), isCode('DISCONNECTED'));
    assert.equal(await dev.exited, 4);
    await dev.restart({ faults: { powerLossDuringWrite: false } });
    const c3 = await connect(dev.path);
    assert.deepEqual(await c3.storageStatus(), { state: 'torn' });
    await assert.rejects(c3.writeSecret(newSecret()), isCode('TORN'));
    await c3.close();
  });

  it('a silent device times out; a wrong path and a busy port are PORT_ERROR', async (t) => {
    const dev = await spawnPtyDevice({ hardwareSerial: 'SN-PTY-4', faults: { silent: true } });
    t.after(() => dev.stop());
    const c = await connect(dev.path, { timeoutMs: 50, retries: 1 });
    await assert.rejects(c.hello(), isCode('TIMEOUT'));
    await assert.rejects(
      openDevicePort(dev.path),
      (e: unknown) => isCode('PORT_ERROR')(e) && /in use/.test((e as DeviceError).hint ?? ''),
    );
    await c.close();
    await assert.rejects(
      openDevicePort(join(dir, 'no-such-port')),
      (e: unknown) => isCode('PORT_ERROR')(e) && /does not exist/.test((e as DeviceError).hint ?? ''),
    );
  });
});

describe('reconnecting port', () => {
  it('waits for a missing port with backoff, opens it when it appears, and reopens it after an unplug', async (t) => {
    const portDir = mkdtempSync(join(tmpdir(), 'imprint-reconnect-'));
    t.after(() => rmSync(portDir, { recursive: true, force: true }));
    const port = new ReconnectingPort(join(portDir, 'dev-station'), { initialDelayMs: 20, maxDelayMs: 100 });
    t.after(() => port.stop());
    const errors: string[] = [];
    port.on('state', (_s, detail) => {
      if (detail?.error) errors.push(detail.error.code);
    });
    // Long enough for several attempts even on a loaded machine (20 ms, then up to 100 ms apart).
    await assert.rejects(port.waitOpen(1000), isCode('PORT_ERROR'));
    assert.ok(errors.length >= 2 && errors.every((c) => c === 'PORT_ERROR'), 'keeps retrying');

    const pair = await createPtyPair({ dir: portDir, name: 'dev' });
    t.after(() => pair.close());
    const first = await port.waitOpen(3000);
    // Timers of the port layer are unref'd; a station always has other work keeping it alive.
    const keepAlive = setInterval(() => {}, 50);
    t.after(() => clearInterval(keepAlive));
    const closed = new Promise((r) => port.once('close', () => r(undefined)));
    await pair.unplug();
    await closed;
    assert.equal(port.state, 'waiting');
    const reopened = new Promise((r) => port.once('open', r));
    await pair.restart();
    assert.notEqual(await reopened, first, 'a new port on the same path');
    assert.equal(port.state, 'open');
  });
});

describe('scanner simulator on a PTY', () => {
  it('the scanner program writes reads that the scanner reader cleans and debounces', async (t) => {
    const pair = await createPtyPair({ name: 'scanner' });
    t.after(() => pair.close());
    const port = await openDevicePort(pair.stationPath, { baudRate: 9600 });
    t.after(() => closePort(port));
    const reader = new ScannerReader(port, { prefix: '#', debounceMs: 60_000 });
    const scans: ScanRead[] = [];
    let duplicates = 0;
    reader.on('scan', (r) => scans.push(r));
    reader.on('duplicate', () => duplicates++);
    const cli = fileURLToPath(new URL('../../src/sim/scanner-sim-cli.ts', import.meta.url));
    const args = ['--port', pair.devicePath, '--prefix', '#', '--aim', ']d2', '--duplicates', '2', '--interval', '0'];
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', cli, ...args, '--label', '010950600013435221SN88', '--label', 'SN89'],
      { stdio: 'ignore' },
    );
    const code = await new Promise((r) => proc.once('exit', r));
    assert.equal(code, 0);
    for (let i = 0; i < 50 && scans.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      scans.map((s) => [s.text, s.symbology]),
      [
        ['010950600013435221SN88', ']d2'],
        ['SN89', ']d2'],
      ],
    );
    assert.equal(duplicates, 4);
  });
});
