// Operator sign-in and the admin PIN: first-run PIN stored hashed (0600), IMPRINT_ADMIN_PIN,
// badge scans, and the lockout after repeated wrong PINs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ADMIN_PIN_FILE, OperatorAuth } from '../../src/api/operator-auth.ts';
import type { ImprintError } from '../../src/common/errors.ts';

describe('operator sign-in and admin PIN', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-auth-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a first start makes a random PIN, shows it once and stores only its hash, readable by the owner only', async () => {
    const first = OperatorAuth.open(dir, {});
    assert.match(first.setup.newPin ?? '', /^\d{6}$/);
    const file = join(dir, ADMIN_PIN_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const stored = readFileSync(file, 'utf8');
    assert.ok(!stored.includes(first.setup.newPin as string), 'the PIN is not stored in clear');
    const again = OperatorAuth.open(dir, {});
    assert.equal(again.setup.newPin, undefined, 'shown once only');
    await again.auth.requireAdmin(first.setup.newPin);
    const session = await again.auth.signIn({ pin: first.setup.newPin, name: 'Dana' });
    assert.deepEqual([session.name, session.role], ['Dana', 'admin']);
  });

  test('IMPRINT_ADMIN_PIN wins over the file, and a wrong PIN is refused without echoing it', async () => {
    const { auth, setup } = OperatorAuth.open(dir, { IMPRINT_ADMIN_PIN: '7391' });
    assert.equal(setup.source, 'env');
    await auth.requireAdmin('7391');
    await assert.rejects(auth.requireAdmin('1111'), (e: ImprintError) => {
      assert.equal(e.code, 'ADMIN_PIN_INVALID');
      assert.ok(!e.message.includes('1111'));
      return true;
    });
  });

  test('five wrong PINs lock admin sign-in, even for the right PIN', async () => {
    const { auth } = OperatorAuth.open(dir, { IMPRINT_ADMIN_PIN: '7391' });
    for (let i = 0; i < 5; i++) await assert.rejects(auth.requireAdmin('0000'), { code: 'ADMIN_PIN_INVALID' });
    await assert.rejects(auth.requireAdmin('7391'), { code: 'PIN_LOCKED' });
  });

  test('operators sign in by badge scan or by name; nothing at all is refused', async () => {
    const { auth } = OperatorAuth.open(dir, { IMPRINT_ADMIN_PIN: '7391' });
    assert.deepEqual(
      [(await auth.signIn({ badge: 'OP:Alice Martin' })).name, (await auth.signIn({ badge: 'badge-1234' })).name],
      ['Alice Martin', '1234'],
    );
    const byName = await auth.signIn({ name: '  Bob  ' });
    assert.deepEqual([byName.name, byName.role], ['Bob', 'operator']);
    await assert.rejects(auth.signIn({ name: '  ' }), { code: 'VALIDATION' });
  });
});
