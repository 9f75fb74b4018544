// The agent JWT attacks the pairing core resists, kept as regression tests over real HTTP: each forged or
// misused token is refused with Astarte's answer (Guardian: 401 "Invalid JWT token" when it cannot be
// verified, 403 "Forbidden" when a verified claim is refused), and `a_pa` is matched on the route the
// router matched, never on how the path was spelled.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { IAT_CLOCK_SKEW_SECONDS } from '../../src/pairing/http/agent-auth.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { startTestServer, type TestServer } from '../pairing-http/server-fixture.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** A request with the path exactly as written (fetch would normalise it) and the status and body it got. */
function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const url = new URL(base);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('agent JWT attacks on the pairing server', () => {
  let s: TestServer;
  let signWithRealmKey: (claims: Record<string, unknown>, header?: { alg: string }) => Promise<string>;

  const register = (token: string) =>
    s.request('POST', `/v1/${s.realm}/agent/devices`, { body: { data: { hw_id: DEVICE } }, auth: `Bearer ${token}` });
  const expectAnswer = async (token: string, status: number, detail: string, label: string) => {
    const r = await register(token);
    assert.equal(r.status, status, `${label}: ${r.text}`);
    assert.deepEqual(r.body, { errors: { detail } }, label);
  };

  before(async () => {
    s = await startTestServer();
    const key = createPrivateKey(s.t.agentKeys.privateKeyPem);
    signWithRealmKey = (claims, header = { alg: 'ES256' }) => new SignJWT(claims).setProtectedHeader(header).sign(key);
  });
  after(() => s.close());

  test('a token with alg "none" is refused', async () => {
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ a_pa: ['.*::.*'] })}.`;
    await expectAnswer(none, 401, 'Invalid JWT token', 'alg none');
    await expectAnswer(`${none}AAAA`, 401, 'Invalid JWT token', 'alg none with a signature');
  });

  test('HS256 keyed with the realm public key (algorithm confusion) is refused', async () => {
    const hs = await new SignJWT({ a_pa: ['.*::.*'] })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(s.t.realm.publicKeyPem));
    await expectAnswer(hs, 401, 'Invalid JWT token', 'HS256');
  });

  test('a token signed with another key, or by another realm, is refused', async () => {
    const other = makeAgentKeyPair();
    await s.t.core.createRealm({ name: 'otherrealm', publicKeyPem: other.publicKeyPem });
    const foreign = await new SignJWT({ a_pa: ['.*::.*'] })
      .setProtectedHeader({ alg: 'ES256' })
      .sign(createPrivateKey(other.privateKeyPem));
    await expectAnswer(foreign, 401, 'Invalid JWT token', 'another realm');
    // The other realm's own token works there, and a realm's token does not carry over to it.
    const there = await s.request('POST', '/v1/otherrealm/agent/devices', {
      body: { data: { hw_id: DEVICE } },
      auth: `Bearer ${foreign}`,
    });
    assert.equal(there.status, 201);
    const mine = await signWithRealmKey({ a_pa: ['.*::.*'] });
    const cross = await s.request('POST', '/v1/otherrealm/agent/devices', {
      body: { data: { hw_id: DEVICE } },
      auth: `Bearer ${mine}`,
    });
    assert.equal(cross.status, 401);
  });

  test('a token whose signature was altered, or whose payload was swapped, is refused', async () => {
    const good = await signWithRealmKey({ a_pa: ['GET::nothing'] });
    const [h, , sig] = good.split('.');
    await expectAnswer(`${h}.${b64url({ a_pa: ['.*::.*'] })}.${sig}`, 401, 'Invalid JWT token', 'payload swapped');
    await expectAnswer(`${good.slice(0, -4)}AAAA`, 401, 'Invalid JWT token', 'signature altered');
    await expectAnswer('invalid_token', 401, 'Invalid JWT token', 'not a JWT');
  });

  test('an expired token and a token not yet valid are 403 Forbidden (Guardian claim failures)', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectAnswer(await signWithRealmKey({ a_pa: ['.*::.*'], exp: now - 1 }), 403, 'Forbidden', 'expired');
    await expectAnswer(await signWithRealmKey({ a_pa: ['.*::.*'], nbf: now + 3600 }), 403, 'Forbidden', 'nbf');
  });

  test(`a token issued in the future (beyond ${IAT_CLOCK_SKEW_SECONDS} s of clock skew) is refused`, async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectAnswer(await signWithRealmKey({ a_pa: ['.*::.*'], iat: now + 86_400 }), 403, 'Forbidden', 'iat a day ahead');
    // Within the documented skew it is accepted.
    const r = await register(await signWithRealmKey({ a_pa: ['.*::.*'], iat: now + 30 }));
    assert.equal(r.status, 201);
  });

  test('missing, empty, non-list or mismatched a_pa allows nothing, and the refusal names the full path', async () => {
    const detail = `Unauthorized access to POST /v1/${s.realm}/agent/devices. Please verify your permissions`;
    for (const claims of [
      {},
      { a_pa: [] },
      { a_pa: '.*::.*' },
      { a_pa: ['DELETE::agent/devices/.*'] },
      { a_pa: ['POST::agent'] },
    ]) {
      await expectAnswer(await signWithRealmKey(claims), 403, detail, JSON.stringify(claims));
    }
  });

  test('a 1 MB token is refused before any parsing', async () => {
    const huge = `${b64url({ alg: 'ES256' })}.${'A'.repeat(1024 * 1024)}.AAAA`;
    const r = await rawRequest(s.base, 'POST', `/v1/${s.realm}/agent/devices`, {
      authorization: `Bearer ${huge}`,
      'content-type': 'application/json',
    });
    assert.equal(r.status, 431); // Node's header limit (16 KiB): the request never reaches a route
  });

  test('a deny-style a_pa regex cannot be bypassed by percent-encoding the path', async () => {
    // Everything except the agent routes: the raw path "%61gent/devices" would not match "agent/…".
    const token = await signWithRealmKey({ a_pa: ['.*::(?!agent/).*'] });
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const body = JSON.stringify({ data: { hw_id: DEVICE } });
    for (const path of [
      `/v1/${s.realm}/agent/devices`,
      `/v1/${s.realm}/%61gent/devices`,
      `/v1/${s.realm}/agent/%64evices`,
      `/v1/${s.realm}/%61%67%65%6e%74/devices`,
      `/v1/${s.realm}/agent/devices/`,
      `/v1/${s.realm}/agent/devices?x=1`,
    ]) {
      const r = await rawRequest(s.base, 'POST', path, headers, body);
      assert.ok(r.status === 403 || r.status === 404, `${path}: ${r.status} ${r.body}`);
      if (r.status === 403) assert.match(r.body, /Unauthorized access to POST \/v1\/test\/agent\/devices\./, path);
    }
    // An allow-style regex matches the decoded path: the encoded spelling is the same request.
    const allow = await signWithRealmKey({ a_pa: ['POST::agent/devices'] });
    const r = await rawRequest(
      s.base,
      'POST',
      `/v1/${s.realm}/%61gent/devices`,
      { ...headers, authorization: `Bearer ${allow}` },
      body,
    );
    assert.equal(r.status, 201, r.body);
  });
});
