// The pairing store contract, one suite for both engines (sqlite-contract.test.ts,
// pg-contract.test.ts). Each test gets a store and a second store on the same database (another
// connection; for PostgreSQL, what another `pairing serve` instance would hold) and checks the
// rules Astarte's Pairing depends on, with concurrent calls split between the two.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClaimTokenRecord } from '../../src/pairing/claims/claim-store.ts';
import type { CentralEventRow, ChainPlanner } from '../../src/pairing/import/central-audit-store.ts';
import type { PairingStore, RealmRow } from '../../src/pairing/pairing-store.ts';

export interface StorePair {
  store: PairingStore;
  /** A second store on the same database. */
  other: PairingStore;
  /** Closes both and opens them again on the same database. */
  reopen(): Promise<void>;
  cleanup(): Promise<void>;
}

const AT = '2026-01-01T00:00:00.000Z';
const realmRow = (name: string, limit: number | null = null): RealmRow => ({
  name,
  publicKeyPem: 'PEM',
  brokerUrl: 'mqtts://b/',
  deviceRegistrationLimit: limit,
  deviceIdNamespace: 'f79ad91f-c638-4889-ae74-9d001a3b4cf8',
  factory: null,
  createdAt: AT,
});
const id = (n: number | string) => `dev${String(n).padStart(19, '0')}`;
const reg = (s: PairingStore, deviceId: string, secretHash: string, realm = 'r') =>
  s.devices.register({ realm, deviceId, secretHash, initialIntrospection: null, at: AT });
const creds = (s: PairingStore, deviceId: string, secretHash: string, serialHex: string, realm = 'r') =>
  s.devices.recordCredentials({ realm, deviceId, secretHash, serialHex, notAfter: '2027-01-01T00:00:00.000Z', at: AT });
const token = (jti: string, maxUses: number | null, realm = 'r'): Omit<ClaimTokenRecord, 'uses' | 'revokedAt'> => ({
  jti,
  realm,
  createdAt: AT,
  expiresAt: '2027-01-01T00:00:00.000Z',
  maxUses,
  serialPattern: null,
  batch: null,
});
/** Alternates calls between the two stores: half the requests go to each "instance". */
const split = <T>(p: StorePair, n: number, fn: (s: PairingStore, i: number) => Promise<T>) =>
  Promise.all(Array.from({ length: n }, (_, i) => fn(i % 2 === 0 ? p.store : p.other, i)));
const count = <T>(xs: T[], x: T) => xs.filter((y) => y === x).length;

export function storeContract(engine: string, open: () => Promise<StorePair>): void {
  const t = (name: string, fn: (p: StorePair) => Promise<void>) =>
    test(`${engine}: ${name}`, async () => {
      const p = await open();
      try {
        await p.store.realms.create(realmRow('r'));
        await fn(p);
      } finally {
        await p.cleanup();
      }
    });

  t('realms: created once, seen by the other instance, persisted', async (p) => {
    assert.equal(await p.other.realms.create(realmRow('r')), false, 'a second create of one name changes nothing');
    assert.equal(await p.other.realms.create(realmRow('s', 3)), true);
    assert.deepEqual((await p.store.realms.get('s'))?.deviceRegistrationLimit, 3);
    assert.deepEqual(
      (await p.store.realms.list()).map((r) => r.name),
      ['r', 's'],
    );
    await p.reopen();
    assert.deepEqual(await p.store.realms.get('r'), realmRow('r'));
    assert.equal(await p.store.realms.get('nope'), undefined);
  });

  t(
    'register, re-register, confirm: re-registration is refused once credentials were recorded, on either instance',
    async (p) => {
      assert.equal(await reg(p.store, id(1), 'h1'), 'registered');
      assert.equal(await reg(p.other, id(1), 'h2'), 'registered');
      assert.equal((await p.store.devices.get('r', id(1)))?.secretHash, 'h2');
      assert.equal(await creds(p.store, id(1), 'h1', 'aa01'), 'stale', 'an old secret records nothing');
      assert.equal(await creds(p.store, id(1), 'h2', 'aa02'), 'issued');
      assert.equal(await reg(p.other, id(1), 'h3'), 'confirmed');
      assert.equal(await reg(p.store, id(1), 'h3'), 'confirmed');
      const d = await p.other.devices.get('r', id(1));
      assert.equal(d?.secretHash, 'h2');
      assert.equal(d?.certificateSerial, 'aa02');
      assert.ok(d?.firstCredentialsRequestAt);
      assert.equal(await p.other.devices.unregister('r', id(1)), true);
      assert.equal(await reg(p.store, id(1), 'h4'), 'registered', 'unregistering re-opens registration');
      assert.equal(await p.store.devices.unregister('r', id(2)), false);
      assert.equal(await p.store.devices.setInhibited('r', id(2), true), false);
    },
  );

  t('two instances registering one device at once leave exactly one secret, one of theirs', async (p) => {
    for (let round = 0; round < 5; round++) {
      const hashes = Array.from({ length: 10 }, (_, i) => `h${round}-${i}`);
      const out = await split(p, 10, (s, i) => reg(s, id(round), hashes[i]));
      assert.deepEqual(out, Array(10).fill('registered'));
      const stored = (await p.store.devices.get('r', id(round)))?.secretHash;
      assert.ok(stored && hashes.includes(stored));
      assert.equal((await p.other.devices.get('r', id(round)))?.secretHash, stored);
    }
    assert.equal(await p.store.devices.count('r'), 5);
  });

  t('a registration racing the first credentials request: exactly one of them wins', async (p) => {
    for (let round = 0; round < 20; round++) {
      await reg(p.store, id(round), `old${round}`);
      const [r, c] = await Promise.all([
        reg(p.other, id(round), `new${round}`),
        creds(p.store, id(round), `old${round}`, `c${round}`),
      ]);
      const d = await p.store.devices.get('r', id(round));
      if (c === 'issued') {
        assert.equal(r, 'confirmed', `round ${round}`);
        assert.equal(d?.secretHash, `old${round}`);
      } else {
        assert.deepEqual([r, c], ['registered', 'stale'], `round ${round}`);
        assert.equal(d?.secretHash, `new${round}`);
        assert.equal(d?.firstCredentialsRequestAt, null);
      }
    }
  });

  t('registrations arriving together each get their own answer: confirmed devices stay, others register', async (p) => {
    for (let i = 0; i < 12; i++) await reg(p.store, id(`c${i}`), `old${i}`);
    for (let i = 0; i < 12; i += 2) assert.equal(await creds(p.other, id(`c${i}`), `old${i}`, `cc${i}`), 'issued');
    const out = await split(p, 24, (s, i) => reg(s, id(`c${i % 12}`), `new${i}`));
    out.forEach((o, i) => {
      assert.equal(o, (i % 12) % 2 === 0 ? 'confirmed' : 'registered', `request ${i}`);
    });
    for (let i = 0; i < 12; i++) {
      const secret = (await p.other.devices.get('r', id(`c${i}`)))?.secretHash;
      if (i % 2 === 0) assert.equal(secret, `old${i}`, 'a confirmed device keeps its secret');
      else assert.ok(secret === `new${i}` || secret === `new${i + 12}`, `device c${i}: ${secret}`);
    }
  });

  t('the realm limit holds exactly under concurrent new registrations on two instances', async (p) => {
    await p.store.realms.create(realmRow('lim', 10));
    await reg(p.store, id('known'), 'h', 'lim');
    const out = await split(p, 30, (s, i) => reg(s, id(i), `h${i}`, 'lim'));
    assert.equal(count(out, 'registered'), 9);
    assert.equal(count(out, 'limit'), 21);
    assert.equal(await p.other.devices.count('lim'), 10);
    assert.equal(await reg(p.other, id('known'), 'h2', 'lim'), 'registered', 'a known device may always register again');
    assert.equal(await reg(p.other, id('late'), 'h', 'lim'), 'limit');
  });

  t('credentials: inhibited refused, previous certificate revoked and counted once', async (p) => {
    await reg(p.store, id(1), 'h');
    assert.equal(await p.other.devices.setInhibited('r', id(1), true), true);
    assert.equal(await creds(p.store, id(1), 'h', 'bb01'), 'inhibited');
    await p.other.devices.setInhibited('r', id(1), false);
    const before = await p.store.certificates.revocationCount();
    assert.equal(await creds(p.store, id(1), 'h', 'BB01'), 'issued');
    assert.equal(await p.other.certificates.isRevoked('bb01'), false);
    assert.equal(await creds(p.other, id(1), 'h', 'bb02'), 'issued');
    assert.equal(await p.store.certificates.isRevoked('BB01'), true, 'superseded, seen by the other instance');
    assert.equal(await p.store.certificates.revocationCount(), before + 1);
    assert.deepEqual(await p.other.certificates.listRevoked(), [{ serialHex: 'bb01', revokedAt: AT, reason: 'superseded' }]);
  });

  t('claims: a token is never used more than its limit, a manufacturer id is claimed once', async (p) => {
    await p.store.claims.insertToken(token('t5', 5));
    const out = await split(p, 20, (s, i) =>
      s.claims.claim({ realm: 'r', jti: 't5', manufacturerId: `m${i}`, deviceId: id(i), secretHash: 'h', at: AT }),
    );
    assert.equal(out.filter((o) => o.kind === 'claimed').length, 5);
    assert.equal(out.filter((o) => o.kind === 'used_up').length, 15);
    assert.equal((await p.other.claims.getToken('t5'))?.uses, 5);
    await p.store.claims.insertToken(token('ta', null));
    await p.store.claims.insertToken(token('tb', null));
    const race = await Promise.all([
      p.store.claims.claim({ realm: 'r', jti: 'ta', manufacturerId: 'same', deviceId: id('same'), secretHash: 'h', at: AT }),
      p.other.claims.claim({ realm: 'r', jti: 'tb', manufacturerId: 'same', deviceId: id('same'), secretHash: 'h', at: AT }),
    ]);
    assert.deepEqual(race.map((o) => o.kind).sort(), ['already_claimed', 'claimed']);
    await reg(p.store, id('station'), 'h');
    const claimOf = (jti: string, m: string, d: string) =>
      p.other.claims.claim({ realm: 'r', jti, manufacturerId: m, deviceId: d, secretHash: 'h', at: AT });
    assert.equal((await claimOf('ta', 'x', id('station'))).kind, 'device_exists');
    assert.equal((await claimOf('nope', 'x', id('x'))).kind, 'unknown_token');
    assert.equal((await p.store.claims.revokeToken('r', 'ta', AT)).kind, 'revoked');
    assert.equal((await p.other.claims.revokeToken('r', 'ta', AT)).kind, 'already_revoked');
    assert.equal((await p.other.claims.revokeToken('r', 'nope', AT)).kind, 'not_found');
    assert.equal((await claimOf('ta', 'y', id('y'))).kind, 'revoked');
    await p.store.realms.create(realmRow('lim', 1));
    await p.store.claims.insertToken(token('tl', null, 'lim'));
    const lim = (m: string) =>
      p.other.claims.claim({ realm: 'lim', jti: 'tl', manufacturerId: m, deviceId: id(m), secretHash: 'h', at: AT });
    assert.equal((await lim('l1')).kind, 'claimed');
    assert.equal((await lim('l2')).kind, 'limit');
    assert.deepEqual(
      (await p.store.claims.listTokens('lim')).map((t) => [t.jti, t.uses]),
      [['tl', 1]],
    );
  });

  t('/sign: a UUID registers once across instances until re-opened; its previous certificate is revoked', async (p) => {
    const sign = (s: PairingStore, serialHex: string) =>
      s.signs.sign({
        realm: 'r',
        uuid: 'u1',
        deviceId: id('u1'),
        name: null,
        hardwareId: 'hw',
        serialHex,
        publicKeySha256: 'k',
        notAfter: '2046-01-01T00:00:00.000Z',
        at: AT,
      });
    // The pre-read before signing, where the store has one, answers as the transaction will.
    const pre = (s: PairingStore, uuid: string) => s.signs.refusal?.('r', uuid, id(uuid));
    const hasPre = p.store.signs.refusal !== undefined;
    if (hasPre) assert.equal(await pre(p.other, 'u1'), undefined);
    const race = await Promise.all([sign(p.store, 'cc01'), sign(p.other, 'cc02')]);
    assert.deepEqual(race.map((o) => o.kind).sort(), ['already_signed', 'signed']);
    if (hasPre) assert.deepEqual(await pre(p.other, 'u1'), { kind: 'already_signed', signedAt: AT });
    const winner = race.findIndex((o) => o.kind === 'signed') === 0 ? 'cc01' : 'cc02';
    assert.equal((await p.store.signs.get('r', 'u1'))?.certificateSerial, winner);
    assert.equal((await p.other.devices.get('r', id('u1')))?.certificateSerial, winner);
    assert.equal((await p.other.signs.reopen('r', 'u1', AT)).kind, 'reopened');
    assert.equal((await p.store.signs.reopen('r', 'u1', AT)).kind, 'already_reopened');
    if (hasPre) assert.equal(await pre(p.store, 'u1'), undefined);
    assert.deepEqual(await sign(p.store, 'cc03'), { kind: 'signed', signings: 2 });
    assert.equal(await p.other.certificates.isRevoked(winner), true);
    assert.equal((await p.store.signs.reopen('r', 'u9', AT)).kind, 'not_found');
    await reg(p.store, id('u2'), 'h');
    if (hasPre) assert.deepEqual(await pre(p.other, 'u2'), { kind: 'device_exists' });
    const other = await p.other.signs.sign({
      realm: 'r',
      uuid: 'u2',
      deviceId: id('u2'),
      name: null,
      hardwareId: 'hw',
      serialHex: 'cc09',
      publicKeySha256: 'k',
      notAfter: AT,
      at: AT,
    });
    assert.equal(other.kind, 'device_exists');
  });

  // The losers of a race for one new device must be told why it is taken: "already signed" / "already
  // claimed", never DEVICE_EXISTS (the row they saw was written by the winner, in the same transaction).
  t('racing /sign of one UUID and claims of one manufacturer id: every loser is told it is taken', async (p) => {
    for (let round = 0; round < 6; round++) {
      const uuid = `race-${round}`;
      const signs = await split(p, 6, (s, i) =>
        s.signs.sign({
          realm: 'r',
          uuid,
          deviceId: id(uuid),
          name: null,
          hardwareId: 'hw',
          serialHex: `d${round}0${i}`,
          publicKeySha256: 'k',
          notAfter: '2046-01-01T00:00:00.000Z',
          at: AT,
        }),
      );
      assert.deepEqual(signs.map((o) => o.kind).sort(), [
        'already_signed',
        'already_signed',
        'already_signed',
        'already_signed',
        'already_signed',
        'signed',
      ]);
      const m = `race-m${round}`;
      for (let i = 0; i < 6; i++) await p.store.claims.insertToken(token(`race-${round}-${i}`, null));
      const claims = await split(p, 6, (s, i) =>
        s.claims.claim({ realm: 'r', jti: `race-${round}-${i}`, manufacturerId: m, deviceId: id(m), secretHash: 'h', at: AT }),
      );
      assert.deepEqual(claims.map((o) => o.kind).sort(), [
        'already_claimed',
        'already_claimed',
        'already_claimed',
        'already_claimed',
        'already_claimed',
        'claimed',
      ]);
    }
  });

  t('imports: imported once, idempotent, conflicts never overwrite, the limit holds', async (p) => {
    await p.store.realms.create(realmRow('lim', 3));
    await reg(p.store, id('here'), 'h-here', 'lim');
    const chunk = (devices: [string, string][]) => ({
      realm: 'lim',
      station: 'st1',
      batch: 'b1',
      devices: devices.map(([deviceId, secretHash]) => ({ deviceId, secretHash, registeredAt: AT })),
      at: AT,
    });
    const first = await p.other.imports.importDevices(
      chunk([
        [id('a'), 'ha'],
        [id('b'), 'hb'],
        [id('here'), 'h-station'],
        [id('c'), 'hc'],
      ]),
    );
    assert.deepEqual(
      first.map((o) => o.result),
      ['imported', 'imported', 'conflict', 'conflict'],
    );
    assert.match(first[3].reason ?? '', /limit \(3\)/);
    const again = await p.store.imports.importDevices(chunk([[id('a'), 'ha']]));
    assert.deepEqual(again, [{ deviceId: id('a'), result: 'already_present' }]);
    assert.equal((await p.store.devices.get('lim', id('here')))?.secretHash, 'h-here', 'never overwritten');
    assert.equal((await p.other.devices.get('lim', id('b')))?.secretHash, 'hb');
    assert.deepEqual(
      (await p.store.imports.conflicts('lim')).map((c) => c.deviceId),
      [id('c'), id('here')],
    );
    assert.equal(await p.store.devices.count('lim'), 3);
  });

  t('stations: enrolled once across instances, a second key refused; resolve keeps the core or the station', async (p) => {
    const enrol = (s: PairingStore, publicKey: string) =>
      s.imports.enrolStation('r', { station: 'st', publicKey, keyId: `k-${publicKey}`, enrolledAt: AT });
    const race = await split(p, 6, (s) => enrol(s, 'K1'));
    assert.deepEqual(race.map((o) => o.kind).sort(), [
      'already_enrolled',
      'already_enrolled',
      'already_enrolled',
      'already_enrolled',
      'already_enrolled',
      'enrolled',
    ]);
    const other = await enrol(p.other, 'K2');
    assert.equal(other.kind, 'key_mismatch');
    assert.equal(other.station.publicKey, 'K1', 'the enrolled key is kept and reported');
    assert.deepEqual(
      (await p.store.imports.stations('r')).map((x) => [x.station, x.publicKey, x.verifiedUpTo]),
      [['st', 'K1', 0]],
    );
    assert.equal(await p.other.imports.station('r', 'nope'), undefined);

    // The verified stretch follows appends that start where it ends.
    const row = (seq: number): CentralEventRow => ({
      seq,
      hash: `h${seq}`,
      body: '{}',
      ts: AT,
      deviceId: null,
      hardwareSerial: null,
      batchId: null,
      operator: null,
      step: 'record',
      outcome: 'ok',
    });
    await p.store.centralAudit.append(
      'r',
      'st',
      [],
      () => ({ rows: [row(1), row(2)], head: { station: 'st', lastSeq: 2, lastHash: 'h2' } }),
      AT,
    );
    assert.equal((await p.other.imports.station('r', 'st'))?.verifiedUpTo, 2);
    assert.deepEqual(
      (await p.other.centralAudit.events('r', 'st', 2, 10)).map((e) => e.hash),
      ['h2'],
    );

    // Conflicts: with the registration the core holds; resolved either way, in one transaction.
    await reg(p.store, id('online'), 'h-online');
    await reg(p.store, id('conf'), 'h-conf');
    await creds(p.store, id('conf'), 'h-conf', 'ee01');
    const chunk = (station: string, batch: string, devices: [string, string][]) =>
      p.other.imports.importDevices({
        realm: 'r',
        station,
        batch,
        devices: devices.map(([deviceId, secretHash]) => ({
          deviceId,
          secretHash,
          registeredAt: AT,
          hardwareSerial: `HW-${deviceId}`,
        })),
        at: AT,
      });
    await chunk('st-a', 'ba', [[id('shared'), 'h-a']]);
    await chunk('st-b', 'bb', [
      [id('shared'), 'h-b'],
      [id('online'), 'h-b2'],
      [id('conf'), 'h-b3'],
    ]);
    const listed = await p.store.imports.conflicts('r', 'st-b');
    assert.deepEqual(
      listed.map((c) => [c.deviceId, c.hardwareSerial, c.heldBy?.source, c.heldBy?.station ?? null, c.heldBy?.batch ?? null]),
      [
        [id('conf'), `HW-${id('conf')}`, 'online', null, null],
        [id('online'), `HW-${id('online')}`, 'online', null, null],
        [id('shared'), `HW-${id('shared')}`, 'import', 'st-a', 'ba'],
      ],
    );
    assert.equal((await p.store.imports.resolveConflict('r', 'st-b', id('conf'), 'station', AT)).kind, 'confirmed');
    assert.equal((await p.other.imports.resolveConflict('r', 'st-b', id('shared'), 'station', AT)).kind, 'kept_station');
    assert.equal((await p.store.devices.get('r', id('shared')))?.secretHash, 'h-b');
    const race2 = await Promise.all([
      p.store.imports.resolveConflict('r', 'st-b', id('online'), 'core', AT),
      p.other.imports.resolveConflict('r', 'st-b', id('online'), 'core', AT),
    ]);
    assert.deepEqual(race2.map((o) => o.kind).sort(), ['kept_core', 'not_found']);
    assert.equal((await p.store.devices.get('r', id('online')))?.secretHash, 'h-online', 'the core kept its own');
    assert.deepEqual(
      (await p.other.imports.conflicts('r')).map((c) => c.deviceId),
      [id('conf')],
    );
    assert.equal((await p.store.imports.resolveConflict('r', 'st-x', id('conf'), 'core', AT)).kind, 'not_found');
  });

  t('central audit: a chain appended by two instances at once is stored once, in order', async (p) => {
    const rows = (from: number, to: number): CentralEventRow[] =>
      Array.from({ length: to - from + 1 }, (_, i) => ({
        seq: from + i,
        hash: `h${from + i}`,
        body: `{"seq":${from + i}}`,
        ts: `2026-01-01T00:00:${String(from + i).padStart(2, '0')}.000Z`,
        deviceId: from + i === 2 ? id(2) : null,
        hardwareSerial: null,
        batchId: 'b',
        operator: 'op',
        step: 'record',
        outcome: 'ok',
      }));
    // Appends what lies above the stored head, refuses a gap (as central-audit.ts does, simplified).
    const planner =
      (events: CentralEventRow[]): ChainPlanner =>
      (stored, storedHash) => {
        const last = stored?.lastSeq ?? 0;
        for (const e of events) if (e.seq < last && storedHash(e.seq) !== e.hash) throw new Error('differs');
        const fresh = events.filter((e) => e.seq > last);
        if (fresh.length && fresh[0].seq !== last + 1) throw new Error('gap');
        const top = fresh.at(-1);
        return { rows: fresh, head: top ? { station: 's1', lastSeq: top.seq, lastHash: top.hash } : stored! };
      };
    const events = rows(1, 30);
    const heads = await split(p, 6, (s) =>
      s.centralAudit.append(
        'r',
        's1',
        events.map((e) => e.seq),
        planner(events),
        AT,
      ),
    );
    for (const h of heads) assert.deepEqual(h, { station: 's1', lastSeq: 30, lastHash: 'h30' });
    assert.deepEqual(await p.other.centralAudit.head('r', 's1'), { station: 's1', lastSeq: 30, lastHash: 'h30' });
    await assert.rejects(
      p.store.centralAudit.append('r', 's1', [32], planner(rows(32, 32)), AT),
      /gap/,
      'a refused append stores nothing',
    );
    assert.equal((await p.store.centralAudit.head('r', 's1'))?.lastSeq, 30);
    const found = await p.other.centralAudit.query('r', { deviceId: id(2), limit: 10 });
    assert.deepEqual(found, [{ hash: 'h2', body: '{"seq":2}' }]);
    const newest = await p.store.centralAudit.query('r', { station: 's1', limit: 2 });
    assert.deepEqual(
      newest.map((e) => e.hash),
      ['h30', 'h29'],
    );
    assert.deepEqual(await p.store.centralAudit.heads('r'), [{ station: 's1', lastSeq: 30, lastHash: 'h30' }]);
    // Keyset paging (the QA view's pages of the remote): every event once, newest first.
    const paged: string[] = [];
    let after: { ts: string; station: string; seq: number } | undefined;
    for (;;) {
      const page = await p.other.centralAudit.query('r', { station: 's1', after, limit: 7 });
      if (page.length === 0) break;
      paged.push(...page.map((e) => e.hash));
      const last = events[Number(page[page.length - 1].hash.slice(1)) - 1];
      after = { ts: last.ts, station: 's1', seq: last.seq };
    }
    assert.deepEqual(paged, events.map((e) => e.hash).reverse());
  });

  t('health answers, metrics describe the store, and writes survive a reopen', async (p) => {
    const h = await p.store.health();
    assert.equal(h.ok, true);
    assert.ok(h.latencyMs >= 0);
    await reg(p.store, id(1), 'h');
    assert.match(p.store.metricsText(), /imprint_pairing_db_operation_seconds_count\{engine="\w+",op="devices.register"\} 1/);
    assert.match(
      p.store.durability(),
      /^(synchronous=NORMAL\+wal-fdatasync-before-ack|synchronous_commit=(on|remote_write|remote_apply|local))$/,
    );
    await p.reopen();
    assert.equal((await p.store.devices.get('r', id(1)))?.secretHash, 'h');
    assert.ok((await p.store.schemaVersion()) >= 1);
  });
}
