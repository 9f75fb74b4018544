// Fleet claims over HTTP on 127.0.0.1: a device claims with a token and its manufacturer id; every
// rule of the token (signature, realm, expiry, revocation, uses, serial pattern) and of the realm
// (no takeover of a known device, one claim per manufacturer id) holds, also under concurrency.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { CLAIM_TOKEN_ISSUER, CLAIM_TOKEN_TYPE, readClaimTokenPayload } from '../../src/pairing/claims/claim-token.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { type ClaimsServer, startClaimsServer } from './claims-fixture.ts';

let clock = Date.parse('2026-11-01T08:00:00Z');
let s: ClaimsServer;
const claimPath = () => `/v1/${s.realm}/claims`;
const claim = (token: string, manufacturer_id: string, path = claimPath()) => s.post(path, { data: { token, manufacturer_id } });
const mint = async (
  o: { maxUses?: number; serialPattern?: string; batch?: string; expiresInSeconds?: number; realm?: string } = {},
) =>
  (await s.claims.createToken(o.realm ?? s.realm, { pairingUrl: s.base, expiresInSeconds: o.expiresInSeconds ?? 3600, ...o }))
    .token;

before(async () => {
  s = await startClaimsServer({ now: () => new Date(clock) });
});
after(async () => {
  await s.close();
});

describe('a device claims with a token', () => {
  test('201 with device id (UUIDv5 of the manufacturer id), credentials secret, pairing and broker URLs; the secret works', async () => {
    const token = await mint({ maxUses: 3, batch: 'WO-77' });
    const r = await claim(token, 'SN-0001');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const d = r.body.data;
    assert.equal(d.device_id, deriveDeviceId('SN-0001', s.t.realm.deviceIdNamespace));
    assert.match(d.credentials_secret, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(d.pairing_url, s.base);
    assert.equal(d.broker_url, 'mqtts://broker.test:8883/');
    const info = await fetch(`${s.base}/v1/${s.realm}/devices/${d.device_id}`, {
      headers: { authorization: `Bearer ${d.credentials_secret}` },
    });
    assert.equal(info.status, 200);
    assert.equal(((await info.json()) as { data: { status: string } }).data.status, 'pending');

    const [ev] = s.trail.query({ step: 'claim', deviceId: d.device_id });
    assert.equal(ev.outcome, 'ok');
    assert.equal(ev.station, 'pairing-core');
    assert.equal(ev.hardwareSerial, 'SN-0001');
    assert.match(ev.secretFingerprint ?? '', /^fp1:/);
    assert.equal(ev.data?.workOrder, 'WO-77');
    assert.equal(ev.data?.use, 1);
    // Neither the secret nor the token is anywhere in the audit database.
    s.trail.verify();
    const raw = readFileSync(join(s.t.dataDir, 'audit.db')).toString('latin1');
    assert.ok(!raw.includes(d.credentials_secret));
    assert.ok(!raw.includes(token.split('.')[2]));
  });

  test('the registration URL is readable from the token without any key (as firmware does)', async () => {
    const token = await mint();
    const p = readClaimTokenPayload(token);
    assert.equal(p.url, `${s.base}/v1/${s.realm}/claims`);
    assert.equal(p.realm, s.realm);
  });

  test('a manufacturer id already claimed is 409 with a clear message', async () => {
    const token = await mint();
    assert.equal((await claim(token, 'SN-DUP')).status, 201);
    const again = await claim(token, 'SN-DUP');
    assert.equal(again.status, 409);
    assert.equal(again.headers.get('x-imprint-error'), 'ALREADY_CLAIMED');
    assert.match(again.body.errors.detail, /Manufacturer id SN-DUP was already claimed/);
  });

  test('a device a station registered (pending) is never taken over: 409, its secret keeps working', async () => {
    const id = deriveDeviceId('SN-STATION', s.t.realm.deviceIdNamespace);
    const { credentialsSecret } = await s.t.core.registerDevice(s.realm, id);
    const r = await claim(await mint(), 'SN-STATION');
    assert.equal(r.status, 409);
    assert.equal(r.headers.get('x-imprint-error'), 'DEVICE_EXISTS');
    assert.match(r.body.errors.detail, /never takes over/);
    assert.equal((await s.t.core.getInfo(s.realm, id, credentialsSecret)).status, 'pending');
  });

  test('serial pattern: the whole manufacturer id must match', async () => {
    const token = await mint({ serialPattern: 'SN-[0-9]{4}' });
    assert.equal((await claim(token, 'SN-4321')).status, 201);
    for (const bad of ['SN-43210', 'XSN-4321', 'AB-1234']) {
      const r = await claim(token, bad);
      assert.equal(r.status, 403, bad);
      assert.equal(r.headers.get('x-imprint-error'), 'SERIAL_NOT_ALLOWED');
    }
  });

  test('max uses: the token is refused once used up', async () => {
    const token = await mint({ maxUses: 2 });
    assert.equal((await claim(token, 'MU-1')).status, 201);
    assert.equal((await claim(token, 'MU-2')).status, 201);
    const r = await claim(token, 'MU-3');
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('x-imprint-error'), 'CLAIM_TOKEN_USED_UP');
  });

  test('invalid manufacturer ids and bodies are 4xx', async () => {
    const token = await mint();
    assert.equal((await claim(token, 'has space')).status, 422);
    assert.equal((await claim(token, 'x'.repeat(300))).status, 422);
    assert.equal((await s.post(claimPath(), { token, manufacturer_id: 'A' })).status, 400);
    assert.equal((await s.post(claimPath(), { data: { token } })).status, 422);
    assert.equal((await claim(token, 'SN-X', '/v1/nosuchrealm/claims')).status, 403);
  });
});

describe('tokens that must be refused', () => {
  test('expired', async () => {
    const token = await mint({ expiresInSeconds: 120 });
    clock += 121_000;
    const r = await claim(token, 'EXP-1');
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('x-imprint-error'), 'CLAIM_TOKEN_EXPIRED');
  });

  test('a token that worked expires like any other (no stale verification)', async () => {
    const token = await mint({ expiresInSeconds: 120 });
    assert.equal((await claim(token, 'EXP-OK')).status, 201);
    clock += 121_000;
    const r = await claim(token, 'EXP-2');
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('x-imprint-error'), 'CLAIM_TOKEN_EXPIRED');
  });

  test('revoked (and the revocation is audited)', async () => {
    const token = await mint();
    const { jti } = readClaimTokenPayload(token);
    await s.claims.revokeToken(s.realm, jti as string, 'it-admin');
    const r = await claim(token, 'REV-1');
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('x-imprint-error'), 'CLAIM_TOKEN_REVOKED');
    const [ev] = s.trail.query({ step: 'claim-token-revoke' });
    assert.equal(ev.operator, 'it-admin');
    assert.equal(ev.data?.jti, jti);
  });

  test('minted for another realm', async () => {
    await s.t.core.createRealm({ name: 'other', publicKeyPem: makeAgentKeyPair().publicKeyPem });
    const token = await mint({ realm: 'other' });
    const r = await claim(token, 'FOREIGN-1');
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('x-imprint-error'), 'CLAIM_TOKEN_WRONG_REALM');
  });

  test('tampered payload (more uses), HS256, alg none and another core’s ES256 key', async () => {
    const token = await mint({ maxUses: 1 });
    const [h, p, sig] = token.split('.');
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...payload, max_uses: 1000 })).toString('base64url')}.${sig}`;
    const claims = { ...payload };
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', typ: CLAIM_TOKEN_TYPE })
      .sign(new TextEncoder().encode('a shared secret flashed into every device'));
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: CLAIM_TOKEN_TYPE })).toString('base64url')}.${p}.`;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const foreign = await new SignJWT({ ...claims, iss: CLAIM_TOKEN_ISSUER })
      .setProtectedHeader({ alg: 'ES256', typ: CLAIM_TOKEN_TYPE })
      .sign(privateKey);
    for (const [name, bad] of Object.entries({ tampered, hs256, none, foreign, garbage: 'not-a-token' })) {
      const r = await claim(bad, `BAD-${name}`);
      assert.equal(r.status, 401, name);
      assert.equal(r.headers.get('x-imprint-error'), 'CLAIM_TOKEN_INVALID', name);
    }
  });

  test('every refusal is an audit event without the token', async () => {
    const refused = s.trail.query({ step: 'claim-refused' });
    const codes = new Set(refused.map((e) => e.errorCode));
    for (const c of [
      'CLAIM_TOKEN_EXPIRED',
      'CLAIM_TOKEN_REVOKED',
      'CLAIM_TOKEN_WRONG_REALM',
      'CLAIM_TOKEN_INVALID',
      'ALREADY_CLAIMED',
      'DEVICE_EXISTS',
      'SERIAL_NOT_ALLOWED',
      'CLAIM_TOKEN_USED_UP',
    ])
      assert.ok(codes.has(c), `${c} not audited (got ${[...codes].join(', ')})`);
    for (const e of refused) assert.equal(e.outcome, 'fail');
  });
});

describe('concurrency', () => {
  test('20 parallel claims on a max-uses-5 token: exactly 5 succeed', async () => {
    const token = await mint({ maxUses: 5 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => claim(token, `RACE-${i}`)));
    const ok = results.filter((r) => r.status === 201);
    assert.equal(ok.length, 5);
    for (const r of results.filter((x) => x.status !== 201))
      assert.equal(r.headers.get('x-imprint-error'), 'CLAIM_TOKEN_USED_UP');
    const { jti } = readClaimTokenPayload(token);
    const rec = (await s.claims.listTokens(s.realm)).find((t) => t.jti === jti);
    assert.equal(rec?.uses, 5);
    for (const r of ok) assert.equal((await s.t.core.showDevice(s.realm, r.body.data.device_id)).registered, true);
  });

  test('10 parallel claims of one manufacturer id: exactly one succeeds', async () => {
    const token = await mint();
    const results = await Promise.all(Array.from({ length: 10 }, () => claim(token, 'SAME-MFR')));
    assert.equal(results.filter((r) => r.status === 201).length, 1);
    assert.equal(results.filter((r) => r.status === 409).length, 9);
  });
});
