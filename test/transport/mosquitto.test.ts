// The pairing core's certificates as real transport credentials: Debian's Mosquitto, configured by
// `imprint pairing broker-config mosquitto`, accepts a device that got its certificate through the Pairing
// API (username <realm>/<device id>), refuses the superseded certificate once `imprint pairing crl`
// refreshed the CRL, accepts the new one, and refuses a certificate from another CA.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { buildPairingServer, type PairingFastify } from '../../src/pairing/http/server.ts';
import { makeAgentKeyPair, makeDeviceCsr } from '../helpers/pairing-keys.ts';

const MOSQUITTO = '/usr/sbin/mosquitto';
const REALM = 'plant';
const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';
const OTHER_DEVICE = 'Bk0PV6QTRLiXl2yQ4wQQ7Q';
const ROOT = new URL('../..', import.meta.url).pathname;

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: 60_000, cwd: ROOT }, (err, stdout, stderr) =>
      err ? reject(new Error(`${cmd} ${args.slice(0, 4).join(' ')}: ${stderr || err.message}`)) : resolve(stdout),
    );
  });
}
const imprint = (...args: string[]) => run(process.execPath, [join(ROOT, 'bin/imprint.mjs'), ...args]);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, broker: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (broker.exitCode !== null) throw new Error(`mosquitto exited with ${broker.exitCode}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = netConnect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('mosquitto did not start listening');
}

interface Credentials {
  cert: string;
  key: string;
}

describe('Mosquitto with mutual TLS on pairing certificates', () => {
  let dir: string;
  let core: EmbeddedPairingCore;
  let foreignCore: EmbeddedPairingCore;
  let app: PairingFastify;
  let base = '';
  let broker: ChildProcess;
  let port = 0;
  let brokerCa = '';
  let secret = '';
  let first: Credentials;
  let brokerLog = '';

  const attempt = (c: Credentials, fn?: (client: mqtt.MqttClient) => Promise<void>) =>
    new Promise<{ connected: boolean; error?: string }>((resolve) => {
      const client = mqtt.connect({
        protocol: 'mqtts',
        host: '127.0.0.1',
        port,
        ca: brokerCa,
        cert: c.cert,
        key: c.key,
        rejectUnauthorized: true,
        protocolVersion: 5,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        clientId: `t-${Math.random().toString(36).slice(2)}`,
      });
      let settled = false;
      const done = (r: { connected: boolean; error?: string }) => {
        if (settled) return;
        settled = true;
        client.end(true, () => resolve(r));
      };
      client.once('connect', async () => {
        try {
          if (fn) await fn(client);
          done({ connected: true });
        } catch (e) {
          done({ connected: true, error: (e as Error).message });
        }
      });
      client.once('error', (e) => done({ connected: false, error: e.message }));
      client.once('close', () => done({ connected: false, error: 'closed' }));
    });

  const credentialsFor = async (c: EmbeddedPairingCore, s: string): Promise<Credentials> => {
    const { csrPem, privateKeyPem } = makeDeviceCsr();
    const { clientCrt } = await c.requestCredentials(REALM, DEVICE, s, csrPem);
    return { cert: clientCrt, key: privateKeyPem };
  };

  before(async () => {
    assert.ok(existsSync(MOSQUITTO), `${MOSQUITTO} is required (.ci/run installs it)`);
    dir = mkdtempSync(join(tmpdir(), 'imprint-mqtt-'));
    core = await EmbeddedPairingCore.open({ dataDir: join(dir, 'core') });
    await core.createRealm({ name: REALM, publicKeyPem: makeAgentKeyPair().publicKeyPem });
    app = await buildPairingServer({ core });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;

    // The broker's own certificate, from a test CA the devices trust (not the pairing CA).
    const o = (...args: string[]) => run('openssl', args);
    const f = (name: string) => join(dir, name);
    await o(
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('broker-ca.key')],
      ...['-subj', '/CN=Test Broker CA', '-days', '2', '-out', f('broker-ca.pem')],
    );
    await o(
      ...['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f('server.key')],
      ...['-subj', '/CN=127.0.0.1', '-out', f('server.csr')],
    );
    writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    await o(
      ...['x509', '-req', '-in', f('server.csr'), '-CA', f('broker-ca.pem'), '-CAkey', f('broker-ca.key')],
      ...['-CAcreateserial', '-days', '2', '-extfile', f('server.ext'), '-out', f('server.crt')],
    );
    brokerCa = readFileSync(f('broker-ca.pem'), 'utf8');

    port = await freePort();
    const conf = join(dir, 'broker');
    await imprint(
      ...['pairing', 'broker-config', 'mosquitto', '--realm', REALM, '--out', conf, '--pairing-url', base],
      ...['--port', String(port), '--bind', '127.0.0.1', '--certfile', f('server.crt'), '--keyfile', f('server.key')],
    );
    // As root, Mosquitto would switch to the "mosquitto" user, who cannot read this private temp directory.
    if (process.getuid?.() === 0) appendFileSync(join(conf, 'mosquitto.conf'), 'user root\n');
    appendFileSync(join(conf, 'mosquitto.conf'), 'log_dest stderr\nlog_type all\n');
    broker = spawn(MOSQUITTO, ['-c', join(conf, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    broker.stderr?.on('data', (d) => {
      brokerLog += String(d);
    });
    writeFileSync(join(dir, 'mosquitto.pid'), String(broker.pid));
    await waitForPort(port, broker);

    ({ credentialsSecret: secret } = await core.registerDevice(REALM, DEVICE));
    first = await credentialsFor(core, secret);
    foreignCore = await EmbeddedPairingCore.open({ dataDir: join(dir, 'foreign') });
    await foreignCore.createRealm({ name: REALM, publicKeyPem: makeAgentKeyPair().publicKeyPem });
  });

  after(async () => {
    broker?.kill('SIGTERM');
    await app?.close();
    await core?.close();
    await foreignCore?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('broker-config wrote a listener with require_certificate, use_identity_as_username, cafile and crlfile', () => {
    const conf = readFileSync(join(dir, 'broker', 'mosquitto.conf'), 'utf8');
    for (const line of ['require_certificate true', 'use_identity_as_username true', `listener ${port} 127.0.0.1`]) {
      assert.ok(conf.includes(line), line);
    }
    assert.match(conf, /^cafile .*ca\.pem$/m);
    assert.match(conf, /^crlfile .*crl\.pem$/m);
    assert.equal(readFileSync(join(dir, 'broker', 'ca.pem'), 'utf8'), core.caCertificatePem());
  });

  test('a device with its Pairing API certificate connects, publishes, and its username is <realm>/<device id>', async () => {
    const own = `${REALM}/${DEVICE}`;
    const r = await attempt(first, async (client) => {
      // The ACL is "pattern readwrite %u/#": only a username equal to the CN may publish under it.
      const granted = await client.subscribeAsync(`${own}/#`, { qos: 1 });
      assert.deepEqual(
        granted.map((g) => g.qos),
        [1],
      );
      const received = new Promise<string>((resolve) =>
        client.once('message', (topic, payload) => resolve(`${topic} ${payload}`)),
      );
      await client.publishAsync(`${own}/hello`, 'from the device', { qos: 1 });
      // Another device's topics are refused (MQTT 5 PUBACK reason 0x87 "Not authorized").
      await assert.rejects(client.publishAsync(`${REALM}/${OTHER_DEVICE}/hello`, 'intrusion', { qos: 1 }), /Not authorized|135/i);
      assert.equal(await received, `${own}/hello from the device`);
    });
    assert.deepEqual(r, { connected: true });
    assert.match(brokerLog, new RegExp(`u'${own.replace('/', '\\/')}'`)); // Mosquitto logs the username
  });

  test('after a new credentials request and a CRL refresh, the old certificate is refused and the new one connects', async () => {
    const second = await credentialsFor(core, secret);
    // Until the broker has the new CRL, it cannot know: the refusal below is the CRL's doing.
    assert.deepEqual(await attempt(first), { connected: true });
    const out = await imprint(
      ...['pairing', 'crl', '--realm', REALM, '--pairing-url', base],
      ...['--out', join(dir, 'broker', 'crl.pem'), '--hup', join(dir, 'mosquitto.pid')],
    );
    assert.match(out, /asked to reload/);
    // Mosquitto reloads on SIGHUP asynchronously: retry until the refusal shows, bounded.
    let old = await attempt(first);
    for (let i = 0; i < 50 && old.connected; i++) {
      await new Promise((r) => setTimeout(r, 100));
      old = await attempt(first);
    }
    assert.equal(old.connected, false, 'the superseded certificate still connects');
    assert.deepEqual(await attempt(second), { connected: true });
  });

  test('a certificate from another CA (same realm, same CN) is refused', async () => {
    const { credentialsSecret } = await foreignCore.registerDevice(REALM, DEVICE);
    const foreign = await credentialsFor(foreignCore, credentialsSecret);
    const r = await attempt(foreign);
    assert.equal(r.connected, false);
  });
});
