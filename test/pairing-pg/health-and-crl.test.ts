// Operating a fleet instance: /health says 503 while its database is away and recovers by itself,
// requests meanwhile are 503 (retry elsewhere), /metrics shows the pool and database latency; and
// the CRL of one instance shows a revocation made on another within the stated bound.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { EmbeddedPairingCore, SHARED_CRL_CHECK_MS } from '../../src/pairing/embedded-core.ts';
import { buildPairingServer } from '../../src/pairing/http/server.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';
import { makeAgentKeyPair, makeDeviceCsr } from '../helpers/pairing-keys.ts';
import { freshSchema, TEST_PG_URL } from '../helpers/pg-test-db.ts';

/** A TCP proxy to PostgreSQL that can be cut (every connection dropped, no new ones) and restored. */
class CuttableProxy {
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    const target = new URL(TEST_PG_URL);
    this.#server = createServer((client) => {
      const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.#server!.listen(this.port, '127.0.0.1', r));
    const a = this.#server.address();
    this.port = typeof a === 'object' && a ? a.port : 0;
  }

  async cut(): Promise<void> {
    const closed = new Promise((r) => this.#server?.close(r));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}

const crlSerials = (pem: string) => {
  const r = spawnSync('openssl', ['crl', '-noout', '-text'], { input: pem, encoding: 'utf8' });
  return [...r.stdout.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1].toLowerCase());
};

test('/health is 503 while the database is unreachable, requests are 503, and the instance recovers by itself', async () => {
  const schema = await freshSchema('health');
  const proxy = new CuttableProxy();
  await proxy.start();
  const url = new URL(schema.url);
  url.port = String(proxy.port);
  const dataDir = makeTempDir();
  const core = await EmbeddedPairingCore.open({ dataDir, store: url.toString() });
  const app = await buildPairingServer({ core });
  try {
    const keys = makeAgentKeyPair();
    await core.createRealm({ name: 'test', publicKeyPem: keys.publicKeyPem });
    const token = await mintAgentToken({ privateKey: keys.privateKeyPem });
    const register = () =>
      app.inject({
        method: 'POST',
        url: '/v1/test/agent/devices',
        headers: { authorization: `Bearer ${token}` },
        payload: { data: { hw_id: 'AJInS0w3VpWpuOqkXhgZdA' } },
      });
    assert.equal((await app.inject({ url: '/health' })).statusCode, 200);
    assert.equal((await register()).statusCode, 201);

    await proxy.cut();
    const down = await app.inject({ url: '/health' });
    assert.equal(down.statusCode, 503);
    assert.equal(down.body, '', 'an empty body, as Astarte');
    assert.equal(down.headers['retry-after'], '1');
    const refused = await register();
    assert.equal(refused.statusCode, 503);
    assert.equal(refused.headers['x-imprint-error'], 'DB_UNAVAILABLE');
    assert.equal(refused.headers['retry-after'], '1');
    assert.deepEqual(refused.json(), { errors: { detail: 'Service unavailable' } });
    const during = (await app.inject({ url: '/metrics' })).body;
    assert.match(during, /imprint_pairing_db_up\{engine="postgres"\} 0/);
    assert.match(during, /imprint_pairing_db_unavailable_total\{engine="postgres"\} [1-9]/);

    await proxy.start(); // the database is back, on the same address
    let health = 0;
    for (let i = 0; i < 50 && health !== 200; i++) {
      health = (await app.inject({ url: '/health' })).statusCode;
      if (health !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(health, 200, 'recovered without a restart');
    assert.equal((await register()).statusCode, 201);
    const m = (await app.inject({ url: '/metrics' })).body;
    assert.match(m, /imprint_pairing_db_up\{engine="postgres"\} 1/);
    assert.match(m, /imprint_pairing_db_pool_size\{engine="postgres"\} \d+/);
    assert.match(m, /imprint_pairing_db_operation_seconds_count\{engine="postgres",op="devices.register"\} [1-9]/);
    assert.match(m, /imprint_pairing_db_operation_seconds_bucket\{engine="postgres",op="devices.register",le="0.005"\} \d+/);
    assert.match(m, /imprint_pairing_store_writes_total [1-9]/);
  } finally {
    await app.close();
    await core.close();
    await proxy.cut();
    await schema.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a revocation on one instance is in the CRL of another within the stated bound (and at once on its own)', async () => {
  const schema = await freshSchema('crl');
  const dataDir = makeTempDir(); // one CA for both, as every instance of a fleet holds it
  let now = new Date('2026-05-01T00:00:00Z');
  const open = () => EmbeddedPairingCore.open({ dataDir, store: schema.url, now: () => now });
  const a = await open();
  const b = await open();
  try {
    await a.createRealm({ name: 'test', publicKeyPem: makeAgentKeyPair().publicKeyPem });
    assert.deepEqual(crlSerials(await b.crlPem()), [], 'B caches an empty CRL');
    const { credentialsSecret } = await a.registerDevice('test', 'AJInS0w3VpWpuOqkXhgZdA');
    await a.requestCredentials('test', 'AJInS0w3VpWpuOqkXhgZdA', credentialsSecret, makeDeviceCsr().csrPem);
    const first = (await a.showDevice('test', 'AJInS0w3VpWpuOqkXhgZdA')).certificateSerial!;
    await a.requestCredentials('test', 'AJInS0w3VpWpuOqkXhgZdA', credentialsSecret, makeDeviceCsr().csrPem);
    assert.deepEqual(crlSerials(await a.crlPem()), [first], 'the revoking instance publishes it at once');
    now = new Date(now.getTime() + SHARED_CRL_CHECK_MS);
    assert.deepEqual(crlSerials(await b.crlPem()), [first], `the other within ${SHARED_CRL_CHECK_MS} ms`);
  } finally {
    await a.close();
    await b.close();
    await schema.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
