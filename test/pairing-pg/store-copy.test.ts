// `imprint pairing store copy`: an embedded core grows into a fleet. Its devices keep working with
// their secrets and certificates on a PostgreSQL-backed core; claims, /sign, imports, the central
// audit and the core's own audit chain come along; a second copy changes nothing; a copy that would
// overwrite a different row is refused and writes nothing.
import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { hashBody } from '../../src/audit/chain-link.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { ClaimService } from '../../src/pairing/claims/claim-service.ts';
import { CoreAudit, openCoreAuditSink } from '../../src/pairing/core-audit.ts';
import { generateCredentialsSecret } from '../../src/pairing/credentials-secret.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import { SignService } from '../../src/pairing/foundries/sign-service.ts';
import { CentralAudit } from '../../src/pairing/import/central-audit.ts';
import { ImportDecisions } from '../../src/pairing/import/import-decisions.ts';
import { DeviceImportService } from '../../src/pairing/import/import-service.ts';
import { StationRegistry } from '../../src/pairing/import/station-registry.ts';
import { hashSecret } from '../../src/pairing/secret-hash.ts';
import { PgCoreAudit } from '../../src/pairing/store/pg-core-audit.ts';
import { PostgresPairingStore } from '../../src/pairing/store/pg-store.ts';
import { copyEmbeddedStore } from '../../src/pairing/store/store-copy.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';
import { makeAgentKeyPair, makeDeviceCsr } from '../helpers/pairing-keys.ts';
import { freshSchema } from '../helpers/pg-test-db.ts';
import { lmpRequest } from '../pairing-sign/lmp-request.ts';
import { FACTORY, imprint } from './fleet-harness.ts';

const PENDING = deriveDeviceId('pending');
const CONFIRMED = deriveDeviceId('confirmed');
const OFFLINE = deriveDeviceId('registered offline by a station');

/** An embedded core with a bit of everything, closed, its data directory returned. */
async function embeddedCoreWithHistory(dir: string) {
  const core = await EmbeddedPairingCore.open({ dataDir: dir });
  const sink = openCoreAuditSink(core.extension().store, dir);
  const offline = generateCredentialsSecret();
  try {
    await core.createRealm({ name: 'test', publicKeyPem: makeAgentKeyPair().publicKeyPem, deviceRegistrationLimit: 100 });
    await core.createRealm({ name: 'fio', publicKeyPem: makeAgentKeyPair().publicKeyPem, factory: FACTORY });
    const pending = (await core.registerDevice('test', PENDING)).credentialsSecret;
    const confirmed = (await core.registerDevice('test', CONFIRMED)).credentialsSecret;
    const oldCrt = (await core.requestCredentials('test', CONFIRMED, confirmed, makeDeviceCsr().csrPem)).clientCrt;
    const crt = (await core.requestCredentials('test', CONFIRMED, confirmed, makeDeviceCsr().csrPem)).clientCrt;
    const audit = new CoreAudit(sink);
    const claims = await ClaimService.open(core, dir, { audit });
    const { token } = await claims.createToken('test', { pairingUrl: 'http://p.test', expiresInSeconds: 3600, maxUses: 2 });
    const claimed = await claims.claim('test', token, 'SN-1');
    const sign = await SignService.open(core, { realm: 'fio', audit });
    const req = lmpRequest({ factory: FACTORY });
    await sign.signText(req.json);
    const ext = core.extension();
    const decisions = new ImportDecisions(ext);
    const stations = new StationRegistry(ext, decisions);
    const trail = AuditTrail.open({ file: join(dir, 'station-trail.db'), stationId: 'line-1' });
    await stations.enrol('test', { station: 'line-1', publicKey: trail.publicKey().publicKey });
    await new DeviceImportService(ext, stations, decisions).importDevices({
      realm: 'test',
      station: 'line-1',
      batch: 'b1',
      devices: [{ deviceId: OFFLINE, secretHash: hashSecret(offline), registeredAt: '2026-01-01T00:00:00Z' }],
    });
    for (let i = 0; i < 3; i++) await trail.append({ station: 'line-1', step: 'record', outcome: 'ok', deviceId: PENDING });
    const events = trail.eventsFrom(1, 10);
    trail.close();
    await new CentralAudit(ext, stations).importEvents('test', 'line-1', events);
    return { pending, confirmed, offline, crt, oldCrt, token, claimed, uuid: req.uuid };
  } finally {
    await sink.close();
    await core.close();
  }
}

test('an embedded core copied into PostgreSQL: its devices, certificates, claims, /sign, imports and audit carry on', async () => {
  const schema = await freshSchema('copy');
  const dir = makeTempDir('imprint-embedded-');
  const fleetDir = makeTempDir('imprint-fleet-keys-');
  try {
    const h = await embeddedCoreWithHistory(dir);
    const report = await copyEmbeddedStore({ fromDir: dir, toUrl: schema.url });
    const copied = Object.fromEntries(report.tables.map((t) => [t.table, t.copied]));
    assert.deepEqual(copied, {
      realms: 2,
      devices: 5,
      certificates: 3,
      claim_tokens: 1,
      claims: 1,
      sign_registrations: 1,
      device_imports: 1,
      central_audit_events: 3,
      central_audit_heads: 1,
      enrolled_stations: 1,
      core_audit_events: copied.core_audit_events,
    });
    assert.ok(copied.core_audit_events >= 3, 'claim-token-create, claim, sign');
    assert.deepEqual(report.keys.map((k) => k.name).sort(), ['ca-certificate', 'claim-signing-key']);

    // Again, through the CLI: nothing new, nothing overwritten (idempotent).
    const rerun = imprint(['pairing', 'store', 'copy', '--from', dir, '--to', schema.url, '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    const second = JSON.parse(rerun.stdout) as { tables: { table: string; copied: number; alreadyThere: number }[] };
    assert.ok(second.tables.every((t) => t.copied === 0));
    assert.equal(second.tables.find((t) => t.table === 'devices')?.alreadyThere, 5);

    // A fleet instance holds the embedded core's keys (copied), its rows are in PostgreSQL.
    cpSync(join(dir, 'ca'), join(fleetDir, 'ca'), { recursive: true });
    cpSync(join(dir, 'claim-signing-key.pem'), join(fleetDir, 'claim-signing-key.pem'));
    const core = await EmbeddedPairingCore.open({ dataDir: fleetDir, store: schema.url });
    const sink = openCoreAuditSink(core.extension().store, fleetDir);
    try {
      assert.equal((await core.getInfo('test', PENDING, h.pending)).status, 'pending');
      assert.equal((await core.getInfo('test', CONFIRMED, h.confirmed)).status, 'confirmed');
      assert.equal((await core.verifyCredentials('test', CONFIRMED, h.confirmed, h.crt)).valid, true);
      const old = await core.verifyCredentials('test', CONFIRMED, h.confirmed, h.oldCrt);
      assert.equal(old.valid ? 'valid' : old.cause, 'REVOKED');
      assert.ok((await core.requestCredentials('test', PENDING, h.pending, makeDeviceCsr().csrPem)).clientCrt);
      await assert.rejects(core.registerDevice('test', CONFIRMED), { code: 'ALREADY_REGISTERED' });
      assert.equal((await core.getInfo('test', h.claimed.deviceId, h.claimed.credentialsSecret)).status, 'pending');
      assert.equal((await core.getInfo('test', OFFLINE, h.offline)).status, 'pending', 'imported offline, then copied');
      const audit = new CoreAudit(sink);
      const claims = await ClaimService.open(core, fleetDir, { audit });
      await claims.claim('test', h.token, 'SN-2');
      await assert.rejects(claims.claim('test', h.token, 'SN-3'), { code: 'CLAIM_TOKEN_USED_UP' }, 'uses carried over');
      const again = lmpRequest({ factory: FACTORY, uuid: h.uuid });
      await assert.rejects((await SignService.open(core, { realm: 'fio', audit })).signText(again.json), {
        code: 'ALREADY_SIGNED',
      });
      const registry = new StationRegistry(core.extension(), new ImportDecisions(core.extension()));
      assert.equal((await new CentralAudit(core.extension(), registry).head('test', 'line-1')).lastSeq, 3);
      assert.equal((await registry.get('test', 'line-1')).chain.verified, true, 'the enrolment and its chain were copied');
      // The core's own chain goes on from the embedded trail's last event.
      const pgAudit = core.extension().store.coreAudit;
      assert.ok(pgAudit instanceof PgCoreAudit);
      const chain = await pgAudit.events(1, 100);
      assert.ok(chain.length > copied.core_audit_events, 'new events appended');
      chain.forEach((e, i) => {
        assert.equal(e.seq, i + 1);
        assert.equal(hashBody(e.body), e.hash);
        if (i > 0) assert.ok(e.body.includes(`"prevHash":"${chain[i - 1].hash}"`), `event ${e.seq} links to ${e.seq - 1}`);
      });
    } finally {
      await sink.close();
      await core.close();
    }
  } finally {
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
    rmSync(fleetDir, { recursive: true, force: true });
  }
});

test('a copy that would overwrite a different row is refused, and writes nothing at all', async () => {
  const schema = await freshSchema('copy');
  const dir = makeTempDir('imprint-embedded-');
  try {
    const core = await EmbeddedPairingCore.open({ dataDir: dir });
    await core.createRealm({ name: 'test', publicKeyPem: makeAgentKeyPair().publicKeyPem });
    await core.registerDevice('test', PENDING);
    await core.close();
    await copyEmbeddedStore({ fromDir: dir, toUrl: schema.url });
    // Meanwhile: the device registers again on the fleet (another secret), and one more device embedded.
    const fleet = await PostgresPairingStore.connect({ url: schema.url });
    await fleet.devices.register({ realm: 'test', deviceId: PENDING, secretHash: 'other', initialIntrospection: null, at: 'x' });
    const embedded = await EmbeddedPairingCore.open({ dataDir: dir });
    await embedded.registerDevice('test', CONFIRMED);
    await embedded.close();
    const cli = imprint(['pairing', 'store', 'copy', '--from', dir, '--to', schema.url]);
    assert.notEqual(cli.code, 0);
    assert.match(cli.stderr, new RegExp(`^imprint: DB_COPY_CONFLICT: .*devices: 1 \\(test/${PENDING}\\)`));
    assert.equal((await fleet.devices.get('test', PENDING))?.secretHash, 'other', 'not overwritten');
    assert.equal(await fleet.devices.get('test', CONFIRMED), undefined, 'nothing of the refused copy was written');
    await fleet.close();
  } finally {
    await schema.drop();
    rmSync(dir, { recursive: true, force: true });
  }
});
