// The core's audit chain in the SQLite pairing database (migration 008): a /sign or a claim and its
// event are one commit, all or nothing; the chain verifies and tampering is found; the events an
// earlier version appended to <data>/audit.db are carried over (verified) and the chain continues.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { ClaimService } from '../../src/pairing/claims/claim-service.ts';
import { CoreAudit, openCoreAuditSink, openCoreAuditTrail, PAIRING_CORE_STATION } from '../../src/pairing/core-audit.ts';
import { SignService } from '../../src/pairing/foundries/sign-service.ts';
import { SqliteCoreAudit } from '../../src/pairing/store/sqlite-core-audit.ts';
import { PAIRING_SQLITE_FILE, SqlitePairingStore } from '../../src/pairing/store/sqlite-store.ts';
import { makeTempDir, openTestCore } from '../helpers/pairing-core.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { lmpRequest } from '../pairing-sign/lmp-request.ts';

const FACTORY = 'acme-plant';

function chainSteps(dataDir: string): { seq: number; step: string; deviceId?: string }[] {
  const db = new Database(join(dataDir, PAIRING_SQLITE_FILE), { readonly: true });
  try {
    return (db.prepare('SELECT body FROM core_audit_events ORDER BY seq').pluck().all() as string[]).map((b) => JSON.parse(b));
  } finally {
    db.close();
  }
}

test('a /sign and a claim are each one commit holding the registration and its audit event; the chain verifies', async () => {
  const t = await openTestCore({ store: 'sqlite' });
  try {
    const store = t.core.extension().store as unknown as SqlitePairingStore;
    const sink = openCoreAuditSink(store, t.dataDir);
    assert.ok(sink instanceof SqliteCoreAudit, "the SQLite store's own chain, not audit.db");
    const audit = new CoreAudit(sink);
    await t.core.createRealm({ name: 'fio', publicKeyPem: makeAgentKeyPair().publicKeyPem, factory: FACTORY });
    const sign = await SignService.open(t.core, { realm: 'fio', audit });
    const claims = await ClaimService.open(t.core, t.dataDir, { audit });
    const { token } = await claims.createToken(t.realm.name, { pairingUrl: 'https://core.test/', expiresInSeconds: 3600 });

    const before = store.commitStats();
    const req = lmpRequest({ factory: FACTORY, uuid: randomUUID() });
    await sign.signText(req.json);
    const afterSign = store.commitStats();
    assert.deepEqual(
      { batches: afterSign.batches - before.batches, writes: afterSign.writes - before.writes },
      { batches: 1, writes: 1 },
      'one write, one commit',
    );
    const claimed = await claims.claim(t.realm.name, token, 'SN-1');
    const afterClaim = store.commitStats();
    assert.deepEqual(
      { batches: afterClaim.batches - afterSign.batches, writes: afterClaim.writes - afterSign.writes },
      { batches: 1, writes: 1 },
    );

    const steps = chainSteps(t.dataDir);
    assert.deepEqual(
      steps.map((e) => e.step),
      ['claim-token-create', 'sign', 'claim'],
    );
    assert.equal(steps[2].deviceId, claimed.deviceId);
    assert.ok(!existsSync(join(t.dataDir, 'audit.db')), 'no second database');
    const status = await (sink as SqliteCoreAudit).verify();
    assert.equal(status.ok, true, JSON.stringify(status));
    assert.equal(status.events, 3);

    // A refusal is an event of its own (nothing else to commit with it).
    await assert.rejects(sign.signText(req.json), { code: 'ALREADY_SIGNED' });
    assert.equal(chainSteps(t.dataDir).at(-1)?.step, 'sign-refused');
  } finally {
    await t.cleanup();
  }
});

test('an event that cannot be sealed rolls its registration back: no registration without its event', async () => {
  const dir = makeTempDir('imprint-core-audit-');
  const store = SqlitePairingStore.open(join(dir, PAIRING_SQLITE_FILE));
  try {
    await store.realms.create({
      name: 'fio',
      publicKeyPem: makeAgentKeyPair().publicKeyPem,
      brokerUrl: 'mqtts://broker.test:8883/',
      deviceRegistrationLimit: null,
      deviceIdNamespace: randomUUID(),
      factory: FACTORY,
      createdAt: new Date().toISOString(),
    });
    const request = {
      realm: 'fio',
      uuid: randomUUID(),
      deviceId: 'AJInS0w3VpWpuOqkXhgZdA',
      name: null,
      hardwareId: 'hw',
      serialHex: '0a0b',
      publicKeySha256: 'ab'.repeat(32),
      notAfter: new Date(Date.now() + 1e9).toISOString(),
      at: new Date().toISOString(),
    };
    // A secret-looking member is refused by the audit schema: the seal throws inside the write.
    await assert.rejects(
      store.signs.sign({ ...request, event: () => ({ step: 'sign', outcome: 'ok', data: { secret: 'x' } }) }),
      { code: 'AUDIT_SECRET_REJECTED' },
    );
    assert.equal(await store.signs.get('fio', request.uuid), undefined, 'the registration was rolled back');
    assert.equal(await store.devices.get('fio', request.deviceId), undefined);
    assert.equal(store.coreAudit.head()?.last_seq, 0);
    const ok = await store.signs.sign({ ...request, event: (n) => ({ step: 'sign', outcome: 'ok', data: { registration: n } }) });
    assert.equal(ok.kind, 'signed');
    assert.equal(store.coreAudit.head()?.last_seq, 1);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tampering with the chain is found: rows are append-only, an edited body or a cut tail breaks verify', async () => {
  const dir = makeTempDir('imprint-core-audit-');
  const file = join(dir, PAIRING_SQLITE_FILE);
  try {
    let store = SqlitePairingStore.open(file);
    for (let i = 0; i < 4; i++)
      await store.coreAudit.append({ station: PAIRING_CORE_STATION, step: 'claim', outcome: 'ok', deviceId: `d${i}` });
    assert.equal((await store.coreAudit.verify()).ok, true);
    await store.close();

    const db = new Database(file);
    assert.throws(() => db.prepare("UPDATE core_audit_events SET step = 'x' WHERE seq = 2").run(), /append-only/);
    assert.throws(() => db.prepare('DELETE FROM core_audit_events WHERE seq = 4').run(), /append-only/);
    // Someone with the file drops the guards and edits an event's device.
    db.exec('DROP TRIGGER core_audit_no_update; DROP TRIGGER core_audit_no_delete');
    db.prepare("UPDATE core_audit_events SET body = replace(body, '\"d1\"', '\"dX\"'), device_id = 'dX' WHERE seq = 2").run();
    db.close();
    store = SqlitePairingStore.open(file);
    let status = await store.coreAudit.verify();
    assert.equal(status.ok, false);
    assert.equal(!status.ok && status.brokenAt, 2);
    await store.close();

    const db2 = new Database(file);
    db2.prepare("UPDATE core_audit_events SET body = replace(body, '\"dX\"', '\"d1\"'), device_id = 'd1' WHERE seq = 2").run();
    db2.prepare('DELETE FROM core_audit_events WHERE seq = 4').run();
    db2.close();
    store = SqlitePairingStore.open(file);
    status = await store.coreAudit.verify();
    assert.equal(status.ok, false, 'a cut tail no longer reaches the head');
    assert.match(!status.ok ? status.reason : '', /the chain head records 4 events \(the chain was cut\)/);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("audit.db of an earlier version is carried over once, verified, and the chain continues from it; a station's trail is not", async () => {
  const dir = makeTempDir('imprint-core-audit-');
  try {
    // An earlier version: schema 7, the core's events in <data>/audit.db.
    await SqlitePairingStore.open(join(dir, PAIRING_SQLITE_FILE), { upTo: 7 }).close();
    const old = openCoreAuditTrail(dir);
    const appended = [];
    for (const step of ['claim-token-create', 'claim', 'sign'])
      appended.push(
        await old.append({ station: PAIRING_CORE_STATION, step, outcome: step === 'claim-token-create' ? 'info' : 'ok' }),
      );
    old.close();

    const store = SqlitePairingStore.open(join(dir, PAIRING_SQLITE_FILE));
    try {
      assert.deepEqual(
        store.coreAudit.events().map((r) => r.hash),
        appended.map((e) => e.hash),
      );
      assert.equal(store.coreAudit.head()?.origin, 'audit.db');
      assert.equal(store.coreAudit.head()?.carried_up_to, 3);
      const next = await store.coreAudit.append({ station: PAIRING_CORE_STATION, step: 'claim', outcome: 'ok' });
      assert.equal(next.seq, 4);
      assert.equal(next.prevHash, appended[2].hash);
      const status = await store.coreAudit.verify();
      assert.equal(status.ok, true);
      assert.equal(status.events, 4);
    } finally {
      await store.close();
    }
    // Once: reopening does not copy again; audit.db is left as it was and still verifies.
    const again = SqlitePairingStore.open(join(dir, PAIRING_SQLITE_FILE));
    assert.equal(again.coreAudit.events().length, 4);
    await again.close();
    const trail = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: PAIRING_CORE_STATION, readonly: true });
    assert.equal(trail.verify().ok, true);
    trail.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const station = makeTempDir('imprint-core-audit-');
  try {
    await SqlitePairingStore.open(join(station, PAIRING_SQLITE_FILE), { upTo: 7 }).close();
    const trail = AuditTrail.open({ file: join(station, 'audit.db'), stationId: 'line-1' });
    await trail.append({ station: 'line-1', step: 'identify', outcome: 'ok' });
    trail.close();
    const store = SqlitePairingStore.open(join(station, PAIRING_SQLITE_FILE));
    assert.equal(store.coreAudit.events().length, 0);
    assert.equal(store.coreAudit.head()?.origin, 'new');
    await store.close();
  } finally {
    rmSync(station, { recursive: true, force: true });
  }
});

test('an old audit.db that does not verify is not carried over: the store refuses to open and says what to do', async () => {
  const dir = makeTempDir('imprint-core-audit-');
  try {
    await SqlitePairingStore.open(join(dir, PAIRING_SQLITE_FILE), { upTo: 7 }).close();
    const old = openCoreAuditTrail(dir);
    await old.append({ station: PAIRING_CORE_STATION, step: 'claim', outcome: 'ok', deviceId: 'd1' });
    await old.append({ station: PAIRING_CORE_STATION, step: 'claim', outcome: 'ok', deviceId: 'd2' });
    old.close();
    const db = new Database(join(dir, 'audit.db'));
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").pluck().all() as string[];
    for (const name of triggers) db.exec(`DROP TRIGGER "${name}"`);
    db.prepare('UPDATE events SET entry = replace(entry, \'"d1"\', \'"dX"\') WHERE seq = 1').run();
    db.close();
    assert.throws(() => SqlitePairingStore.open(join(dir, PAIRING_SQLITE_FILE)), { code: 'CORE_AUDIT_NOT_CARRIED' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
