// RemotePairingClient against the real server (every method and error mapping), against a closed
// port, a server that never answers, a failing server, and an Astarte without our error header.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { PairingError, type PairingErrorCode } from '../../src/pairing/pairing-api.ts';
import { errorFromAnswer, RemotePairingClient } from '../../src/pairing/remote-client.ts';
import { makeDeviceCsr } from '../helpers/pairing-keys.ts';
import { startTestServer, type TestServer } from './server-fixture.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

async function rejectsWith(p: Promise<unknown>, code: PairingErrorCode, secrets: string[] = []): Promise<PairingError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PairingError, `expected PairingError, got ${e}`);
    assert.equal(e.code, code, e.message);
    const text = `${e.message} ${JSON.stringify(e)} ${String(e.stack)}`;
    for (const s of secrets) assert.ok(!text.includes(s), 'error text must not carry a secret or token');
    return e;
  }
  assert.fail(`expected ${code}`);
}

function listen(server: Server | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : 0);
    });
  });
}

describe('RemotePairingClient against the pairing server', () => {
  let s: TestServer;
  let token: string;
  let client: RemotePairingClient;

  before(async () => {
    s = await startTestServer();
    token = await s.token();
    client = new RemotePairingClient({ baseUrl: s.base, agentToken: token, timeoutMs: 5000 });
  });
  after(async () => {
    await client.close();
    await s.close();
  });

  test('every method, with the embedded core semantics', async () => {
    assert.equal(client.kind, 'remote');
    const { credentialsSecret } = await client.registerDevice(s.realm, DEVICE, {
      initialIntrospection: { 'org.example.Values': { major: 1, minor: 0 } },
    });
    assert.equal(Buffer.from(credentialsSecret, 'base64').length, 32);
    const info = await client.getInfo(s.realm, DEVICE, credentialsSecret);
    assert.deepEqual(info.protocols, { astarte_mqtt_v1: { broker_url: 'mqtts://broker.test:8883/' } });
    assert.equal(info.status, 'pending');
    const { clientCrt } = await client.requestCredentials(s.realm, DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    assert.match(clientCrt, /^-----BEGIN CERTIFICATE-----/);
    const v = await client.verifyCredentials(s.realm, DEVICE, credentialsSecret, clientCrt);
    assert.equal(v.valid, true);
    assert.equal((await client.getInfo(s.realm, DEVICE, credentialsSecret)).status, 'confirmed');
    await client.requestCredentials(s.realm, DEVICE, credentialsSecret, makeDeviceCsr().csrPem);
    const revoked = await client.verifyCredentials(s.realm, DEVICE, credentialsSecret, clientCrt);
    assert.deepEqual(revoked, { valid: false, timestamp: revoked.timestamp, cause: 'REVOKED', details: null });
    await rejectsWith(client.registerDevice(s.realm, DEVICE), 'ALREADY_REGISTERED', [token]);
    await client.unregisterDevice(s.realm, DEVICE);
    await rejectsWith(client.getInfo(s.realm, DEVICE, credentialsSecret), 'FORBIDDEN', [credentialsSecret]);
  });

  test('error mapping: every code the server can answer', async () => {
    const { credentialsSecret: secret } = await client.registerDevice(s.realm, 'Bk0PV6QTRLiXl2yQ4wQQ7Q');
    const id = 'Bk0PV6QTRLiXl2yQ4wQQ7Q';
    const noToken = new RemotePairingClient({ baseUrl: s.base });
    const badToken = new RemotePairingClient({ baseUrl: s.base, agentToken: 'abc.def.ghi' });
    const scoped = new RemotePairingClient({
      baseUrl: `${s.base}/`,
      agentToken: await s.token({ scopes: ['DELETE::agent/devices/.*'] }),
    });
    await rejectsWith(client.registerDevice('nosuchrealm', id), 'REALM_NOT_FOUND', [token]);
    await rejectsWith(noToken.registerDevice(s.realm, id), 'MISSING_TOKEN');
    await rejectsWith(badToken.registerDevice(s.realm, id), 'INVALID_TOKEN', ['abc.def.ghi']);
    const expired = await mintAgentToken({
      privateKey: s.t.agentKeys.privateKeyPem,
      ttlSeconds: 60,
      now: () => new Date(Date.now() - 3600_000),
    });
    const late = new RemotePairingClient({ baseUrl: s.base, agentToken: expired });
    await rejectsWith(late.registerDevice(s.realm, id), 'TOKEN_REFUSED', [expired]);
    const path = await rejectsWith(scoped.registerDevice(s.realm, id), 'UNAUTHORIZED_PATH');
    assert.equal(path.remoteStatus, 403);
    await rejectsWith(client.registerDevice(s.realm, 'short'), 'INVALID_DEVICE_ID');
    await rejectsWith(client.registerDevice(s.realm, ''), 'VALIDATION');
    await rejectsWith(client.unregisterDevice(s.realm, 'AAAAAAAAAAAAAAAAAAAAAA'), 'DEVICE_NOT_FOUND');
    await rejectsWith(client.getInfo(s.realm, id, ''), 'UNAUTHORIZED');
    await rejectsWith(client.getInfo(s.realm, id, 'wrong-secret'), 'FORBIDDEN', ['wrong-secret']);
    await rejectsWith(client.getInfo(s.realm, 'AAAAAAAAAAAAAAAAAAAAAA', secret), 'DEVICE_NOT_FOUND', [secret]);
    await rejectsWith(client.requestCredentials(s.realm, id, secret, 'not a csr'), 'INVALID_CSR', [secret]);
    await s.t.core.setInhibited(s.realm, id, true);
    await rejectsWith(client.requestCredentials(s.realm, id, secret, makeDeviceCsr().csrPem), 'DEVICE_INHIBITED', [secret]);
  });
});

describe('RemotePairingClient transport failures', () => {
  test('closed port: UNREACHABLE', async () => {
    const probe = createTcpServer();
    const port = await listen(probe);
    await new Promise((r) => probe.close(r));
    const client = new RemotePairingClient({
      baseUrl: `http://127.0.0.1:${port}`,
      agentToken: 'tok-123',
      retries: 1,
      retryDelayMs: 10,
    });
    const e = await rejectsWith(client.registerDevice('test', DEVICE), 'UNREACHABLE', ['tok-123']);
    assert.match(e.message, /unreachable \(ECONNREFUSED\)/);
    await rejectsWith(client.getInfo('test', DEVICE, 'secret-xyz'), 'UNREACHABLE', ['secret-xyz']);
  });

  test('a server that never answers: UNREACHABLE after the timeout; reads retried, register not', async () => {
    const sockets: Socket[] = [];
    // Count requests, not connections: undici may open a spare connection after an abort.
    let requests = 0;
    const silent = createTcpServer((sock) => {
      sockets.push(sock);
      sock.on('data', (d) => {
        requests += (d.toString().match(/ HTTP\/1\.1\r\n/g) ?? []).length;
      });
    });
    const port = await listen(silent);
    try {
      const client = new RemotePairingClient({
        baseUrl: `http://127.0.0.1:${port}`,
        agentToken: 't',
        timeoutMs: 150,
        retries: 1,
        retryDelayMs: 10,
      });
      const e = await rejectsWith(client.getInfo('test', DEVICE, 'secret-xyz'), 'UNREACHABLE', ['secret-xyz']);
      assert.match(e.message, /did not answer within 150 ms/);
      assert.equal(requests, 2, 'info is retried once');
      requests = 0;
      await rejectsWith(client.registerDevice('test', DEVICE), 'UNREACHABLE');
      assert.equal(requests, 1, 'register is not retried after a timeout');
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  test('5xx and garbled answers: REMOTE_ERROR; 503 on reads is retried', async () => {
    let hits = 0;
    let mode: 'fail' | 'garbled' = 'fail';
    const srv = createServer((req, res) => {
      hits++;
      req.resume();
      if (mode === 'fail') {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"errors":{"detail":"Internal server error"}}');
      } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":{"nonsense":true}}');
    });
    const port = await listen(srv);
    try {
      const client = new RemotePairingClient({
        baseUrl: `http://127.0.0.1:${port}`,
        agentToken: 't',
        retries: 2,
        retryDelayMs: 5,
      });
      const e = await rejectsWith(client.getInfo('test', DEVICE, 's'), 'REMOTE_ERROR');
      assert.equal(e.remoteStatus, 503);
      assert.equal(hits, 3);
      hits = 0;
      await rejectsWith(client.registerDevice('test', DEVICE), 'REMOTE_ERROR');
      assert.equal(hits, 1);
      mode = 'garbled';
      await rejectsWith(client.registerDevice('test', DEVICE), 'REMOTE_ERROR');
      await rejectsWith(client.getInfo('test', DEVICE, 's'), 'REMOTE_ERROR');
      await rejectsWith(client.verifyCredentials('test', DEVICE, 's', 'x'), 'REMOTE_ERROR');
    } finally {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  test('a real Astarte (no x-imprint-error header) is mapped by status and text', () => {
    const map = (status: number, body: unknown, api: 'agent' | 'device' = 'device') =>
      errorFromAnswer(status, body, null, api, 'op').code;
    assert.equal(map(401, { errors: { detail: 'Missing authorization token' } }, 'agent'), 'MISSING_TOKEN');
    assert.equal(map(401, { errors: { detail: 'Invalid JWT token' } }, 'agent'), 'INVALID_TOKEN');
    assert.equal(map(401, { errors: { detail: 'Unauthorized' } }), 'UNAUTHORIZED');
    assert.equal(map(403, { errors: { detail: 'Forbidden' } }, 'agent'), 'REALM_NOT_FOUND');
    // Astarte answers an expired agent token with the same 403 "Forbidden": the client reads its own token's exp.
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const token = (claims: object) => `${b64({ alg: 'ES256' })}.${b64(claims)}.c2ln`;
    const forbidden = (bearer: string) =>
      errorFromAnswer(403, { errors: { detail: 'Forbidden' } }, null, 'agent', 'op', bearer).code;
    const now = Math.floor(Date.now() / 1000);
    assert.equal(forbidden(token({ exp: now - 10 })), 'TOKEN_REFUSED');
    assert.equal(forbidden(token({ nbf: now + 600 })), 'TOKEN_REFUSED');
    assert.equal(forbidden(token({ exp: now + 600 })), 'REALM_NOT_FOUND');
    assert.equal(forbidden('not-a-jwt'), 'REALM_NOT_FOUND');
    assert.equal(map(403, { errors: { detail: 'Forbidden' } }), 'FORBIDDEN');
    assert.equal(
      map(403, { errors: { detail: 'Unauthorized access to POST agent/devices. Please verify your permissions' } }, 'agent'),
      'UNAUTHORIZED_PATH',
    );
    assert.equal(map(404, { errors: { detail: 'Device not found' } }), 'DEVICE_NOT_FOUND');
    assert.equal(map(422, { errors: { detail: 'Device already registered' } }, 'agent'), 'ALREADY_REGISTERED');
    assert.equal(map(422, { errors: { hw_id: ['is not a valid base64 encoded 128 bits id'] } }, 'agent'), 'INVALID_DEVICE_ID');
    const v = errorFromAnswer(422, { errors: { hw_id: ["can't be blank"] } }, null, 'agent', 'register');
    assert.equal(v.code, 'VALIDATION');
    assert.deepEqual(v.fields, { hw_id: ["can't be blank"] });
    assert.equal(map(400, { errors: { detail: 'Bad request' } }), 'BAD_REQUEST');
    assert.equal(map(409, undefined), 'REMOTE_ERROR');
  });

  test('a base URL with a path prefix (as Astarte behind /pairing) is kept', async () => {
    const seen: string[] = [];
    const srv = createServer((req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization}`);
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json' }).end('{"data":{"credentials_secret":"c2VjcmV0"}}');
    });
    const port = await listen(srv);
    try {
      const client = new RemotePairingClient({ baseUrl: `http://127.0.0.1:${port}/pairing/`, agentToken: 'the-token' });
      assert.deepEqual(await client.registerDevice('my realm', DEVICE), { credentialsSecret: 'c2VjcmV0' });
      assert.deepEqual(seen, ['POST /pairing/v1/my%20realm/agent/devices Bearer the-token']);
    } finally {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });
});
