// Operator sign-in and the admin PIN: first-run PIN stored hashed (0600), IMPRINT_ADMIN_PIN,
// badge scans, and the lockout after repeated wrong PINs, which a restart does not lift.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ADMIN_PIN_FILE, ADMIN_PIN_LOCKOUT_FILE, OperatorAuth } from '../../src/api/operator-auth.ts';
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

  const env = { IMPRINT_ADMIN_PIN: '7391' };
  /** A station data folder of its own and a clock the test moves; `restart()` reopens the PIN check on it. */
  function station() {
    const data = mkdtempSync(join(dir, 'station-'));
    const clock = { now: 1_800_000_000_000 };
    const open = () => OperatorAuth.open(data, env, { now: () => clock.now }).auth;
    return { data, clock, auth: open(), restart: open };
  }
  const wrong = async (auth: OperatorAuth, n: number) => {
    for (let i = 0; i < n; i++) await assert.rejects(auth.requireAdmin('0000'), { code: 'ADMIN_PIN_INVALID' });
  };

  test('five wrong PINs lock admin sign-in, even for the right PIN, and a restart does not lift the lock', async () => {
    const s = station();
    await wrong(s.auth, 5);
    await assert.rejects(s.auth.requireAdmin('7391'), { code: 'PIN_LOCKED' });
    const restarted = s.restart();
    await assert.rejects(restarted.requireAdmin('7391'), (e: ImprintError) => {
      assert.equal(e.code, 'PIN_LOCKED');
      assert.match(e.message, /locked for a minute/);
      return true;
    });
    const file = join(s.data, ADMIN_PIN_LOCKOUT_FILE);
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the lock file is private');
    assert.deepEqual(Object.keys(JSON.parse(readFileSync(file, 'utf8'))).sort(), [
      'failures',
      'lockedUntil',
      'lockouts',
      'version',
    ]);
    s.clock.now += 61_000;
    await s.restart().requireAdmin('7391');
  });

  test('wrong PINs before a restart still count after it', async () => {
    const s = station();
    await wrong(s.auth, 3);
    const restarted = s.restart();
    await wrong(restarted, 2);
    await assert.rejects(restarted.requireAdmin('7391'), { code: 'PIN_LOCKED' });
  });

  test('each further lock lasts twice as long, up to an hour, across restarts, until a right PIN', async () => {
    const s = station();
    const attempt = (auth: OperatorAuth) => auth.requireAdmin('0000').catch((e: ImprintError) => e.code);
    /** Minutes until a restarted station takes a PIN again; the attempt that gets through counts as wrong. */
    const lockLength = async () => {
      const start = s.clock.now;
      const auth = s.restart();
      while ((await attempt(auth)) === 'PIN_LOCKED') s.clock.now += 30_000;
      return { minutes: (s.clock.now - start) / 60_000, auth };
    };
    const lengths: number[] = [];
    await wrong(s.auth, 5);
    for (let lock = 0; lock < 3; lock++) {
      const { minutes, auth } = await lockLength();
      lengths.push(minutes);
      await wrong(auth, 4);
    }
    // The seventh lock in a row would be 64 minutes: it is cut to an hour.
    writeFileSync(join(s.data, ADMIN_PIN_LOCKOUT_FILE), JSON.stringify({ version: 1, failures: 0, lockouts: 6, lockedUntil: 0 }));
    await wrong(s.restart(), 5);
    lengths.push((await lockLength()).minutes);
    assert.deepEqual(lengths, [1, 2, 4, 60]);
    s.clock.now += 60 * 60_000;
    await s.restart().requireAdmin('7391');
    await wrong(s.restart(), 5);
    s.clock.now += 60_000;
    await s.restart().requireAdmin('7391');
  });

  test('guesses sent in parallel cannot slip in under the lock', async () => {
    const s = station();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => s.auth.requireAdmin('0000').catch((e: ImprintError) => e.code)),
    );
    assert.equal(answers.filter((a) => a === 'ADMIN_PIN_INVALID').length, 5, 'five PINs were compared');
    assert.equal(answers.filter((a) => a === 'PIN_LOCKED').length, 15, 'the rest never were');
  });

  test('a damaged lock file fails closed for a minute; a clock set back cannot stretch a lock past an hour', async () => {
    const s = station();
    writeFileSync(join(s.data, ADMIN_PIN_LOCKOUT_FILE), '{"failures": "many"');
    await assert.rejects(s.restart().requireAdmin('7391'), { code: 'PIN_LOCKED' });
    s.clock.now += 61_000;
    await s.restart().requireAdmin('7391');
    writeFileSync(
      join(s.data, ADMIN_PIN_LOCKOUT_FILE),
      JSON.stringify({ version: 1, failures: 0, lockouts: 1, lockedUntil: s.clock.now + 365 * 86_400_000 }),
    );
    await assert.rejects(s.restart().requireAdmin('7391'), { code: 'PIN_LOCKED' });
    s.clock.now += 60 * 60_000 + 1;
    await s.restart().requireAdmin('7391');
  });

  test('`imprint admin-pin --reset` lifts the lock (from the next start)', async () => {
    const data = mkdtempSync(join(dir, 'reset-'));
    const first = OperatorAuth.open(data, {});
    await wrong(first.auth, 5);
    const pin = OperatorAuth.reset(data);
    await OperatorAuth.open(data, {}).auth.requireAdmin(pin);
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
