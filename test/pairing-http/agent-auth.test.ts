// AgentAuthenticator: the verified-token cache never outlives the token or the realm key,
// and the helpers parse what Astarte parses.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateRealmKeyPair, mintAgentToken } from '../../src/pairing/agent-token.ts';
import { AgentAuthenticator, authorizationPath, bearerCredential, compileScope } from '../../src/pairing/http/agent-auth.ts';
import { PairingError } from '../../src/pairing/pairing-api.ts';

async function outcome(p: () => Promise<void> | undefined): Promise<string> {
  try {
    await p();
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof PairingError);
    return e.code;
  }
}

test('a cached token stops working at its exp', async () => {
  const keys = generateRealmKeyPair();
  const realm = { name: 'r', publicKeyPem: keys.publicKeyPem };
  const t0 = Date.now();
  let now = t0;
  const auth = new AgentAuthenticator({ now: () => now });
  const token = await mintAgentToken({ privateKey: keys.privateKeyPem, ttlSeconds: 60, now: () => new Date(t0) });
  const call = () => auth.authorize(realm, `Bearer ${token}`, 'POST', 'agent/devices');
  assert.equal(await outcome(call), 'ok');
  assert.equal(call(), undefined, 'second use is decided synchronously from the cache');
  now = t0 + 61_000;
  assert.equal(await outcome(call), 'TOKEN_REFUSED');
});

test('a realm key change invalidates cached tokens; another realm never shares them', async () => {
  const keys = generateRealmKeyPair();
  const auth = new AgentAuthenticator();
  const token = await mintAgentToken({ privateKey: keys.privateKeyPem });
  const call = (realm: { name: string; publicKeyPem: string }) => () => auth.authorize(realm, `Bearer ${token}`, 'GET', 'x');
  assert.equal(await outcome(call({ name: 'r', publicKeyPem: keys.publicKeyPem })), 'ok');
  const other = generateRealmKeyPair().publicKeyPem;
  assert.equal(await outcome(call({ name: 'r', publicKeyPem: other })), 'INVALID_TOKEN');
  assert.equal(await outcome(call({ name: 'r2', publicKeyPem: other })), 'INVALID_TOKEN');
  assert.equal(await outcome(call({ name: 'r3', publicKeyPem: 'not a key' })), 'INVALID_TOKEN');
});

test('bearer parsing, scope compilation and the authorization path', () => {
  assert.equal(bearerCredential('Bearer abc'), 'abc');
  assert.equal(bearerCredential('bearer: abc'), 'abc');
  assert.equal(bearerCredential('Basic abc'), undefined);
  assert.equal(bearerCredential('Bearer    '), undefined);
  assert.equal(bearerCredential(undefined), undefined);
  assert.equal(compileScope('no separator'), undefined);
  assert.equal(compileScope('GET::(unclosed'), undefined);
  assert.equal(compileScope(42), undefined);
  const rule = compileScope('GET|POST::agent/devices|x');
  assert.ok(rule);
  assert.ok(rule.method.test('POST') && !rule.method.test('POSTX'));
  assert.ok(rule.path.test('agent/devices') && !rule.path.test('agent/devices/y'));
  // Built from the matched route and its decoded parameters, never from the request's spelling.
  assert.equal(authorizationPath('/v1/:realm/agent/devices', { realm: 'r' }), 'agent/devices');
  assert.equal(authorizationPath('/v1/:realm/agent/devices/:device_id', { realm: 'r', device_id: 'a/b' }), 'agent/devices/a/b');
  assert.equal(authorizationPath('/v1/:realm/x/*', { realm: 'r', '*': 'y/z' }), 'x/y/z');
  assert.throws(() => authorizationPath('/health', {}));
});
