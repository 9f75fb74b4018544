import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import Database from 'better-sqlite3';
import { generateCredentialsSecret, isWellFormedCredentialsSecret } from '../../src/pairing/credentials-secret.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import {
  assertSupportedSecretHash,
  clearSecretHashCache,
  hashSecret,
  secretHashCacheSize,
  secretHashScheme,
  verifySecret,
} from '../../src/pairing/secret-hash.ts';
import { makeTempDir, openTestCore } from '../helpers/pairing-core.ts';

const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

test('secrets are 32 random bytes in 44-char standard Base64, never repeated', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const s = generateCredentialsSecret();
    assert.ok(isWellFormedCredentialsSecret(s), s.length.toString());
    assert.equal(Buffer.from(s, 'base64').length, 32);
    seen.add(s);
  }
  assert.equal(seen.size, 100);
});

test('the hash format is self-describing, salted, and round-trips', async () => {
  const secret = generateCredentialsSecret();
  const h1 = hashSecret(secret);
  const h2 = hashSecret(secret);
  assert.match(h1, /^\$imprint-sha256\$v=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  assert.notEqual(h1, h2, 'a fresh salt each time');
  assert.ok(!h1.includes(secret));
  assert.equal(secretHashScheme(h1), 'imprint-sha256-v1');
  assert.equal(await verifySecret(secret, h1), true);
  assert.equal(await verifySecret(secret, h2), true);
  assert.equal(await verifySecret(generateCredentialsSecret(), h1), false);
  assert.equal(await verifySecret(`${secret} `, h1), false);
  assert.equal(await verifySecret(secret, null), false);
  assert.equal(await verifySecret('', h1), false);
  // A changed version, truncated digest or unknown scheme never verifies.
  assert.equal(await verifySecret(secret, h1.replace('v=1', 'v=2')), false);
  assert.equal(await verifySecret(secret, h1.slice(0, -1)), false);
  assert.equal(secretHashScheme('$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA'), undefined);
  assert.throws(() => assertSupportedSecretHash('plain'), /Unsupported credentials secret hash/);
});

test('the documented test vector holds (docs/secret-hash.md)', async () => {
  const salt = Buffer.alloc(16, 0x01);
  const secret = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
  const h = hashSecret(secret, salt);
  assert.equal(h, '$imprint-sha256$v=1$AQEBAQEBAQEBAQEBAQEBAQ$v6ubRIk7R+Q/ZVE0TAZgUqubgzV7nkLM8K1l5aqjmQ8');
  assert.equal(await verifySecret(secret, h), true);
});

test('secrets verify the same with the native HMAC and with node:crypto (IMPRINT_NATIVE_ECDSA=off)', () => {
  const secret = generateCredentialsSecret();
  const hashes = { good: hashSecret(secret), other: hashSecret(generateCredentialsSecret()), vector: '' };
  hashes.vector = hashSecret('AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', Buffer.alloc(16, 0x01));
  const module = new URL('../../src/pairing/secret-hash.ts', import.meta.url).href;
  const script = `import { verifySecret } from ${JSON.stringify(module)};
const [secret, good, other, vector] = JSON.parse(process.argv[1]);
const cases = [[secret, good], [secret, other], [secret + ' ', good], ['AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', vector], [secret, good.slice(0, -1)], [secret, good]];
process.stdout.write(JSON.stringify(cases.map(([s, h]) => verifySecret(s, h))));`;
  const args = JSON.stringify([secret, hashes.good, hashes.other, hashes.vector]);
  const run = (flag: string | undefined) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, args], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, IMPRINT_NATIVE_ECDSA: flag },
    });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const expected = [true, false, false, true, false, true];
  assert.deepEqual(run(undefined), expected, 'with the addon');
  assert.deepEqual(run('off'), expected, 'with node:crypto');
});

test('imported bcrypt $2b$ hashes verify (and stay correct when cached)', async () => {
  clearSecretHashCache();
  const secret = generateCredentialsSecret();
  const h = bcrypt.hashSync(secret, 4).replace(/^\$2a\$/, '$2b$');
  assert.equal(secretHashScheme(h), 'bcrypt');
  assert.equal(await verifySecret(secret, h), true);
  assert.equal(secretHashCacheSize(), 1);
  assert.equal(await verifySecret(secret, h), true, 'second time from the cache');
  assert.equal(await verifySecret(generateCredentialsSecret(), h), false);
  assert.equal(secretHashCacheSize(), 1, 'failures are not cached');
  assert.equal(await verifySecret(secret, bcrypt.hashSync(generateCredentialsSecret(), 4)), false);
});

test('a hash written by one core authenticates the device on another core (no shared key)', async () => {
  const a = await openTestCore({ store: 'sqlite' });
  const dirB = makeTempDir();
  const b = await EmbeddedPairingCore.open({ dataDir: dirB });
  try {
    const { credentialsSecret } = await a.core.registerDevice('test', DEVICE);
    await a.core.close();
    // Carry the stored hash over as an offline batch would (the secret itself never travels).
    const dbA = new Database(`${a.dataDir}/pairing.sqlite`, { readonly: true });
    const row = dbA.prepare('SELECT * FROM devices WHERE device_id = ?').get(DEVICE) as Record<string, unknown>;
    dbA.close();
    assert.match(String(row.secret_hash), /^\$imprint-sha256\$v=1\$/);
    await b.createRealm({ name: 'test', publicKeyPem: a.agentKeys.publicKeyPem });
    await b.close();
    const dbB = new Database(`${dirB}/pairing.sqlite`);
    dbB
      .prepare('INSERT INTO devices (realm, device_id, secret_hash, first_registration_at) VALUES (?, ?, ?, ?)')
      .run('test', DEVICE, row.secret_hash, row.first_registration_at);
    // And an Astarte device migrated with its bcrypt hash.
    const astarteSecret = generateCredentialsSecret();
    dbB
      .prepare('INSERT INTO devices (realm, device_id, secret_hash) VALUES (?, ?, ?)')
      .run('test', 'BJInS0w3VpWpuOqkXhgZdA', bcrypt.hashSync(astarteSecret, 4).replace(/^\$2a\$/, '$2b$'));
    dbB.close();
    const b2 = await EmbeddedPairingCore.open({ dataDir: dirB });
    try {
      assert.equal((await b2.getInfo('test', DEVICE, credentialsSecret)).status, 'pending');
      assert.equal((await b2.getInfo('test', 'BJInS0w3VpWpuOqkXhgZdA', astarteSecret)).status, 'pending');
      await assert.rejects(b2.getInfo('test', 'BJInS0w3VpWpuOqkXhgZdA', credentialsSecret), { code: 'FORBIDDEN' });
    } finally {
      await b2.close();
    }
  } finally {
    await a.cleanup();
    rmSync(dirB, { recursive: true, force: true });
  }
});
