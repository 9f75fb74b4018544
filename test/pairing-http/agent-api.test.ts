// Agent API over real HTTP: statuses and messages, JWT checks, `a_pa` anchoring, secret lifecycle.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { compileScope, mintAgentToken } from '../../src/pairing/agent-token.ts';
import { makeAgentKeyPair, makeDeviceCsr } from '../helpers/pairing-keys.ts';
import { startTestServer, type TestServer } from './server-fixture.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

function b64url(o: unknown): string {
  return Buffer.from(JSON.stringify(o)).toString('base64url');
}

describe('pairing HTTP agent API', () => {
  let s: TestServer;
  let all: string;
  const register = (hwId: string, auth: string) =>
    s.request('POST', `/v1/${s.realm}/agent/devices`, { body: { data: { hw_id: hwId } }, auth: `Bearer ${auth}` });

  before(async () => {
    s = await startTestServer();
    all = await s.token();
  });
  after(() => s.close());

  test('register answers 201 with a 44-character Base64 credentials secret', async () => {
    const r = await register(DEVICE, all);
    assert.equal(r.status, 201);
    assert.match(r.body.data.credentials_secret, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(r.body.data.credentials_secret, 'base64').length, 32);
  });

  test('unknown realm: 403 Forbidden, before any token check', async () => {
    for (const auth of [undefined, `Bearer ${all}`]) {
      const r = await s.request('POST', '/v1/nosuchrealm/agent/devices', { body: { data: { hw_id: DEVICE } }, auth });
      assert.equal(r.status, 403);
      assert.deepEqual(r.body, { errors: { detail: 'Forbidden' } });
    }
  });

  test('missing or non-Bearer token: 401 Missing authorization token', async () => {
    for (const auth of [undefined, 'Basic dXNlcjpwYXNz', 'Bearer ']) {
      const r = await s.request('POST', `/v1/${s.realm}/agent/devices`, { body: { data: { hw_id: DEVICE } }, auth });
      assert.equal(r.status, 401, String(auth));
      assert.deepEqual(r.body, { errors: { detail: 'Missing authorization token' } });
    }
  });

  test('garbage, foreign-key, HS256 and alg none tokens: 401 Invalid JWT token; expired and not-yet-valid: 403 Forbidden (Guardian)', async () => {
    const other = makeAgentKeyPair();
    const now = Math.floor(Date.now() / 1000);
    const tokens: Record<string, string> = {
      garbage: 'abc.def.ghi',
      foreignKey: await mintAgentToken({ privateKey: other.privateKeyPem }),
      // The classic algorithm confusion: HMAC keyed with the realm's public key PEM.
      hs256: await new SignJWT({ a_pa: ['.*::.*'] })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .sign(new TextEncoder().encode(s.t.realm.publicKeyPem)),
      none: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ a_pa: ['.*::.*'], iat: now })}.`,
      expired: await mintAgentToken({
        privateKey: s.t.agentKeys.privateKeyPem,
        ttlSeconds: 60,
        now: () => new Date(Date.now() - 3600_000),
      }),
      notYetValid: await new SignJWT({ a_pa: ['.*::.*'] })
        .setProtectedHeader({ alg: 'ES256' })
        .setNotBefore(now + 3600)
        .sign((await import('node:crypto')).createPrivateKey(s.t.agentKeys.privateKeyPem)),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const r = await register(DEVICE, token);
      // Astarte's FallbackController answers Guardian's claim failures (token_expired, token_not_yet_valid) with 403.
      const refused = name === 'expired' || name === 'notYetValid';
      assert.equal(r.status, refused ? 403 : 401, name);
      assert.deepEqual(r.body, { errors: { detail: refused ? 'Forbidden' : 'Invalid JWT token' } }, name);
      assert.equal(r.headers.get('x-imprint-error'), refused ? 'TOKEN_REFUSED' : 'INVALID_TOKEN', name);
    }
  });

  test('RSA realm keys work too (RS256 token)', async () => {
    const rsa = makeAgentKeyPair('rsa');
    await s.t.core.createRealm({ name: 'rsarealm', publicKeyPem: rsa.publicKeyPem });
    const token = await mintAgentToken({ privateKey: rsa.privateKeyPem });
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg, 'RS256');
    const r = await s.request('POST', '/v1/rsarealm/agent/devices', {
      body: { data: { hw_id: DEVICE } },
      auth: `Bearer ${token}`,
    });
    assert.equal(r.status, 201);
  });

  test('a_pa regexes are anchored at both ends and matched against METHOD and the path after /v1/{realm}/', async () => {
    const id = 'Bk0PV6QTRLiXl2yQ4wQQ7Q';
    const cases: Array<[string[], 'POST' | 'DELETE', boolean]> = [
      [['POST::agent/devices'], 'POST', true],
      [['POST::agent/devices'], 'DELETE', false],
      [['POST::agent'], 'POST', false], // anchored at the end
      [['POST::gent/devices'], 'POST', false], // anchored at the start
      [['POS::agent/devices'], 'POST', false], // the method is anchored too
      [['P.*::agent/.*'], 'POST', true],
      [['DELETE::agent/devices'], 'DELETE', false], // does not cover agent/devices/{id}
      [['DELETE::agent/devices/.*'], 'DELETE', true],
      [['DELETE::agent/devices|nothing'], 'DELETE', false], // alternation stays inside the anchors
      [['GET::.*', 'DELETE::agent/devices/[A-Za-z0-9_-]{22}'], 'DELETE', true],
      [['.*'], 'POST', false], // malformed entry (no "::") is ignored
      [[], 'POST', false],
    ];
    for (const [scopes, method, allowed] of cases) {
      // mintAgentToken refuses malformed entries; a token minted elsewhere may still carry them.
      const token = scopes.every((x) => compileScope(x))
        ? await s.token({ scopes })
        : await new SignJWT({ a_pa: scopes })
            .setProtectedHeader({ alg: 'ES256' })
            .setIssuedAt()
            .sign(createPrivateKey(s.t.agentKeys.privateKeyPem));
      const path = method === 'POST' ? 'agent/devices' : `agent/devices/${id}`;
      // The device must exist for DELETE to answer 204 when allowed.
      await register(id, all);
      const r =
        method === 'POST'
          ? await register(id, token)
          : await s.request('DELETE', `/v1/${s.realm}/${path}`, { auth: `Bearer ${token}` });
      const label = `${JSON.stringify(scopes)} ${method} ${path}`;
      if (allowed) assert.ok(r.status === 201 || r.status === 204, `${label}: ${r.status}`);
      else {
        assert.equal(r.status, 403, label);
        assert.deepEqual(r.body, {
          errors: { detail: `Unauthorized access to ${method} /v1/${s.realm}/${path}. Please verify your permissions` },
        });
      }
    }
  });

  test('a token without a_pa is authenticated but allowed nothing', async () => {
    const { createPrivateKey } = await import('node:crypto');
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).sign(createPrivateKey(s.t.agentKeys.privateKeyPem));
    const r = await register(DEVICE, token);
    assert.equal(r.status, 403);
    assert.match(r.body.errors.detail, /^Unauthorized access to POST \/v1\/test\/agent\/devices\./);
  });

  test('body problems: 400 without data, 422 per field inside data', async () => {
    const url = `/v1/${s.realm}/agent/devices`;
    const auth = `Bearer ${all}`;
    const bad = async (o: { body?: unknown; rawBody?: string }) => s.request('POST', url, { ...o, auth });
    for (const o of [
      { body: { hw_id: DEVICE } },
      { body: {} },
      { body: [] },
      { body: { data: 'x' } },
      { rawBody: '{bad json' },
      { rawBody: '' },
    ]) {
      const r = await bad(o);
      assert.equal(r.status, 400, JSON.stringify(o));
      assert.deepEqual(r.body, { errors: { detail: 'Bad request' } });
    }
    const huge = await bad({ body: { data: { hw_id: 'x'.repeat(100_000) } } });
    assert.equal(huge.status, 413);
    assert.ok(huge.body.errors.detail);
    assert.deepEqual((await bad({ body: { data: {} } })).body, { errors: { hw_id: ["can't be blank"] } });
    assert.deepEqual((await bad({ body: { data: { hw_id: '' } } })).body, { errors: { hw_id: ["can't be blank"] } });
    const typed = await bad({ body: { data: { hw_id: 42 } } });
    assert.equal(typed.status, 422);
    assert.deepEqual(typed.body, { errors: { hw_id: ['is invalid'] } });
    const malformed = await bad({ body: { data: { hw_id: 'not-a-valid-id!' } } });
    assert.equal(malformed.status, 422);
    assert.deepEqual(malformed.body, { errors: { hw_id: ['is not a valid base64 encoded 128 bits id'] } });
    const intro = await bad({
      body: { data: { hw_id: DEVICE, initial_introspection: { 'org.example.Iface': { major: 'x' } } } },
    });
    assert.equal(intro.status, 422);
    assert.ok(intro.body.errors.initial_introspection, JSON.stringify(intro.body));
  });

  test('initial introspection is accepted', async () => {
    const r = await s.request('POST', `/v1/${s.realm}/agent/devices`, {
      body: {
        data: { hw_id: 'xDpBTJ5gR7WoA1t1hgnPqQ', initial_introspection: { 'org.example.Values': { major: 0, minor: 1 } } },
      },
      auth: `Bearer ${all}`,
    });
    assert.equal(r.status, 201);
    assert.deepEqual((await s.t.core.showDevice(s.realm, 'xDpBTJ5gR7WoA1t1hgnPqQ')).initialIntrospection, {
      'org.example.Values': { major: 0, minor: 1 },
    });
  });

  test('unregister: 204, unknown device 404, longer id 422', async () => {
    const id = 'Ct3Hq1aHS7qOlqgcGa1OZw';
    await register(id, all);
    const del = (x: string) => s.request('DELETE', `/v1/${s.realm}/agent/devices/${x}`, { auth: `Bearer ${all}` });
    // With a JSON content type and no body, as curl -H 'Content-Type: application/json' -X DELETE sends it.
    const ok = await fetch(`${s.base}/v1/${s.realm}/agent/devices/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${all}`, 'content-type': 'application/json' },
    });
    assert.equal(ok.status, 204);
    assert.equal(await ok.text(), '');
    const missing = await del('AAAAAAAAAAAAAAAAAAAAAA');
    assert.equal(missing.status, 404);
    assert.deepEqual(missing.body, { errors: { detail: 'Device not found' } });
    const longer = await del(`${id}AAAA`);
    assert.equal(longer.status, 422);
    assert.deepEqual(longer.body, { errors: { device_id: ['is not a valid base64 encoded 128 bits id'] } });
  });

  test('secret lifecycle end to end over HTTP', async () => {
    const id = 'Ue0Y3Y8fQNGQw6N9n5oyvA';
    const info = (secret: string) => s.request('GET', `/v1/${s.realm}/devices/${id}`, { auth: `Bearer ${secret}` });
    const first = (await register(id, all)).body.data.credentials_secret;
    assert.equal((await info(first)).body.data.status, 'pending');

    // Re-registration before first use: a new secret, the old one stops working.
    const second = (await register(id, all)).body.data.credentials_secret;
    assert.notEqual(second, first);
    assert.equal((await info(first)).status, 403);
    assert.equal((await info(second)).body.data.status, 'pending');

    const creds = await s.request('POST', `/v1/${s.realm}/devices/${id}/protocols/astarte_mqtt_v1/credentials`, {
      body: { data: { csr: makeDeviceCsr().csrPem } },
      auth: `Bearer ${second}`,
    });
    assert.equal(creds.status, 201);
    assert.equal((await info(second)).body.data.status, 'confirmed');

    const refused = await register(id, all);
    assert.equal(refused.status, 422);
    assert.deepEqual(refused.body, { errors: { detail: 'Device already registered' } });

    assert.equal((await s.request('DELETE', `/v1/${s.realm}/agent/devices/${id}`, { auth: `Bearer ${all}` })).status, 204);
    const third = await register(id, all);
    assert.equal(third.status, 201);
    const old = await info(second);
    assert.equal(old.status, 403);
    assert.deepEqual(old.body, { errors: { detail: 'Forbidden' } });
    assert.equal((await info(third.body.data.credentials_secret)).body.data.status, 'pending');
  });

  test('longer hw_id is accepted on register and truncated to 16 bytes', async () => {
    const long = `${DEVICE}xyzw1234`;
    const r = await register(long, all);
    assert.equal(r.status, 201);
    const info = await s.request('GET', `/v1/${s.realm}/devices/${DEVICE}`, { auth: `Bearer ${r.body.data.credentials_secret}` });
    assert.equal(info.status, 200);
    assert.equal((await s.t.core.showDevice(s.realm, DEVICE)).deviceId, DEVICE);
  });
});

describe('pairing HTTP agent API: registration limit', () => {
  test('registering beyond the realm limit is a clear 422, not a 500', async () => {
    const s = await startTestServer({ deviceRegistrationLimit: 1 });
    try {
      const auth = `Bearer ${await s.token()}`;
      const reg = (id: string) => s.request('POST', `/v1/${s.realm}/agent/devices`, { body: { data: { hw_id: id } }, auth });
      assert.equal((await reg(DEVICE)).status, 201);
      assert.equal((await reg(DEVICE)).status, 201, 're-registering the same device does not count twice');
      const over = await reg('Bk0PV6QTRLiXl2yQ4wQQ7Q');
      assert.equal(over.status, 422);
      assert.equal(over.headers.get('x-imprint-error'), 'REGISTRATION_LIMIT');
      assert.match(over.body.errors.detail, /limit/);
    } finally {
      await s.close();
    }
  });
});
