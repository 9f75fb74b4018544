// Enrolled stations and the imports the core can vouch for (issue 12, the core's side of
// docs/sync.md): each attack of the issue is refused with a 4xx AND is an event of the central audit.
// Chains are real: a station trail (src/audit) opens a batch, records devices and closes it with a
// batch summary signed by the station's own Ed25519 key. Runs on SQLite and, through
// test/pairing-pg/http-on-postgres.test.ts, on PostgreSQL.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bodyOfEvent } from '../../src/audit/audit-canonical.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { AuditEvent } from '../../src/audit/audit-types.ts';
import { hashBody } from '../../src/audit/chain-link.ts';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { type RunningPairingServer, servePairing } from '../../src/pairing/http/server.ts';
import { IMPORT_DECISIONS_STATION } from '../../src/pairing/import/import-decisions.ts';
import { RemotePairingClient } from '../../src/pairing/remote-client.ts';
import { hashSecret } from '../../src/pairing/secret-hash.ts';
import { makeTempDir, openTestCore, type TestCore } from '../helpers/pairing-core.ts';
import { makeDeviceCsr } from '../helpers/pairing-keys.ts';

const REALM = 'test';

interface Reply {
  status: number;
  code: string | null;
  body: {
    data?: Record<string, unknown> & { conflicts?: Record<string, unknown>[]; events?: AuditEvent[] };
    errors?: Record<string, unknown>;
  };
}

/** A station's data dir with a closed, signed batch of `devices` records: its trail's events. */
async function signedStation(stationId: string, devices: string[], dir = makeTempDir('imprint-enrol-station-')) {
  const trail = AuditTrail.open({ file: join(dir, 'audit.db'), stationId });
  try {
    const batch = await trail.openBatch({ workOrder: 'WO-12', operator: 'ann' });
    for (const d of devices)
      await trail.append({ station: stationId, step: 'record', outcome: 'ok', deviceId: d, batchId: batch.id, operator: 'ann' });
    await trail.closeBatch(batch.id);
    return { dir, events: trail.eventsFrom(1, 1000), key: loadOrCreateSigningKey(dir) };
  } finally {
    trail.close();
  }
}

/** The chain re-hashed from event `from` on (what an attacker who can rewrite events but not sign can do). */
function rehashFrom(events: AuditEvent[], from: number): AuditEvent[] {
  const out = structuredClone(events);
  for (let i = from; i < out.length; i++) {
    if (i > 0) out[i].prevHash = out[i - 1].hash;
    out[i].hash = hashBody(bodyOfEvent(out[i]));
  }
  return out;
}

const rawKey = (spkiB64: string) => Buffer.from(spkiB64, 'base64').subarray(-32).toString('base64');

describe('enrolled stations and signed imports', () => {
  let core: TestCore;
  let server: RunningPairingServer;
  let token: string;
  const dirs: string[] = [];

  before(async () => {
    core = await openTestCore({ realm: REALM });
    server = await servePairing({ core: core.core, host: '127.0.0.1', port: 0 });
    token = await mintAgentToken({ privateKey: core.agentKeys.privateKeyPem });
  });
  after(async () => {
    await server.close();
    await core.cleanup();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const call = async (method: string, path: string, body?: unknown, bearer = token): Promise<Reply> => {
    const res = await fetch(`${server.url}/v1/${REALM}/${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, code: res.headers.get('x-imprint-error'), body: (await res.json()) as Reply['body'] };
  };
  const enrol = (station: string, publicKeySpki: string, keyId?: string, bearer = token) =>
    call(
      'POST',
      'agent/imports/stations',
      { data: { station_id: station, public_key: rawKey(publicKeySpki), key_id: keyId } },
      bearer,
    );
  /** The core's refusals of `station`, from the central audit. */
  const refusalsOf = async (station: string) => {
    const r = await call('GET', `agent/audit/events?station=${IMPORT_DECISIONS_STATION}&step=import-refused&limit=1000`);
    assert.equal(r.status, 200);
    return (r.body.data?.events ?? []).filter((e) => e.data?.station === station);
  };

  test('the capability route says this core accepts offline imports from enrolled stations', async () => {
    const r = await call('GET', 'agent/imports/capabilities');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.data, { offline_imports: true, station_enrolment: true, signed_batches: true, version: 1 });
    const narrow = await mintAgentToken({ privateKey: core.agentKeys.privateKeyPem, scopes: ['GET::agent/devices/.*'] });
    assert.equal((await call('GET', 'agent/imports/capabilities', undefined, narrow)).status, 403);
    assert.equal((await call('GET', 'agent/imports/capabilities', undefined, 'not-a-token')).status, 401);
  });

  test('enrolment: 201 once, 200 for the same key again, 409 and an audit event for a second key', async () => {
    const s = await signedStation('enrol-1', []);
    dirs.push(s.dir);
    const first = await enrol('enrol-1', s.key.publicKey, s.key.keyId);
    assert.equal(first.status, 201);
    assert.equal(first.body.data?.station_id, 'enrol-1');
    assert.equal(first.body.data?.key_id, s.key.keyId);
    const again = await enrol('enrol-1', s.key.publicKey);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body.data, first.body.data, 'idempotent: the first enrolment stands');

    const intruder = await signedStation('enrol-1', []);
    dirs.push(intruder.dir);
    const second = await enrol('enrol-1', intruder.key.publicKey);
    assert.equal(second.status, 409);
    assert.equal(second.code, 'STATION_KEY_MISMATCH');
    const listed = await call('GET', 'agent/imports/stations/enrol-1');
    assert.equal(listed.body.data?.key_id, s.key.keyId, 'the first key stays');
    const refused = await refusalsOf('enrol-1');
    assert.equal(refused.length, 1);
    assert.equal(refused[0].errorCode, 'STATION_KEY_MISMATCH');
    assert.equal(refused[0].outcome, 'fail');

    // A key id that is not the key's, a key that is not 32 bytes, a name reserved for the core: 422.
    assert.equal((await enrol('enrol-2', s.key.publicKey, 'ed25519:0000000000000000')).status, 422);
    const short = await call('POST', 'agent/imports/stations', { data: { station_id: 'enrol-2', public_key: 'AAAA' } });
    assert.equal(short.status, 422);
    assert.equal((await enrol(IMPORT_DECISIONS_STATION, s.key.publicKey)).status, 422);
  });

  test("enrolment needs its own scope: a station's sync token cannot enrol", async () => {
    const s = await signedStation('enrol-scope', []);
    dirs.push(s.dir);
    const sync = await mintAgentToken({
      privateKey: core.agentKeys.privateKeyPem,
      scopes: ['POST::agent/imports/(devices|audit)', 'GET::agent/imports/.*'],
    });
    const r = await enrol('enrol-scope', s.key.publicKey, undefined, sync);
    assert.equal(r.status, 403);
    const plantIt = await mintAgentToken({ privateKey: core.agentKeys.privateKeyPem, scopes: ['POST::agent/imports/stations'] });
    assert.equal((await enrol('enrol-scope', s.key.publicKey, undefined, plantIt)).status, 201);
  });

  test('a chain or devices posted under an unenrolled station id: 403 STATION_NOT_ENROLLED, audited, nothing stored', async () => {
    const forged = await signedStation('forged-station', [deriveDeviceId('F-1')]);
    dirs.push(forged.dir);
    const audit = await call('POST', 'agent/imports/audit', { data: { station: 'forged-station', events: forged.events } });
    assert.equal(audit.status, 403);
    assert.equal(audit.code, 'STATION_NOT_ENROLLED');
    const devices = await call('POST', 'agent/imports/devices', {
      data: {
        station: 'forged-station',
        batch: 'b',
        devices: [
          { device_id: deriveDeviceId('F-1'), secret_hash: hashSecret('x'.repeat(43)), registered_at: new Date().toISOString() },
        ],
      },
    });
    assert.equal(devices.status, 403);
    assert.equal(devices.code, 'STATION_NOT_ENROLLED');
    const head = await call('GET', 'agent/imports/audit/forged-station');
    assert.equal(head.body.data?.accepted_up_to, 0);
    assert.equal((await call('GET', `agent/devices/${deriveDeviceId('F-1')}`)).status, 404);
    const refused = await refusalsOf('forged-station');
    assert.deepEqual(refused.map((e) => [e.errorCode, e.data?.route]).sort(), [
      ['STATION_NOT_ENROLLED', 'audit'],
      ['STATION_NOT_ENROLLED', 'devices'],
    ]);
    assert.equal((await call('GET', 'agent/imports/stations/forged-station')).status, 404);
  });

  test('a re-hashed forged batch summary (passed: 999) is 422 AUDIT_SIGNATURE_INVALID at its seq, audited, nothing stored', async () => {
    const s = await signedStation(
      'line-sig',
      ['S-1', 'S-2'].map((x) => deriveDeviceId(x)),
    );
    dirs.push(s.dir);
    assert.equal((await enrol('line-sig', s.key.publicKey, s.key.keyId)).status, 201);
    const closeAt = s.events.findIndex((e) => e.step === 'batch-close');
    const forged = structuredClone(s.events);
    (forged[closeAt].data as { summary: { passed: number } }).summary.passed = 999;
    const rehashed = rehashFrom(forged, closeAt);
    const r = await call('POST', 'agent/imports/audit', { data: { station: 'line-sig', events: rehashed } });
    assert.equal(r.status, 422);
    assert.equal(r.code, 'AUDIT_SIGNATURE_INVALID');
    assert.equal(r.body.errors?.seq, s.events[closeAt].seq);
    assert.equal(r.body.errors?.refusal, 'bad-signature');
    assert.equal(r.body.errors?.accepted_up_to, 0);
    assert.equal((await call('GET', 'agent/imports/audit/line-sig')).body.data?.accepted_up_to, 0, 'nothing stored');
    const q = await call('GET', 'agent/audit/events?station=line-sig&limit=1000');
    assert.equal(q.body.data?.events?.length, 0, 'the central query never shows passed: 999');
    const refused = await refusalsOf('line-sig');
    assert.equal(refused.length, 1);
    assert.equal(refused[0].errorCode, 'AUDIT_SIGNATURE_INVALID');
    assert.equal(refused[0].data?.seq, s.events[closeAt].seq);

    // The genuine chain is accepted, and the station shows verified, end to end.
    const ok = await call('POST', 'agent/imports/audit', { data: { station: 'line-sig', events: s.events } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.data?.accepted_up_to, s.events.length);
    // A verifier pages through one station's copy by seq.
    const page = await call('GET', 'agent/audit/events?station=line-sig&from_seq=2&to_seq=3');
    assert.deepEqual(
      page.body.data?.events?.map((e) => e.seq),
      [3, 2],
    );
    const one = await call('GET', 'agent/imports/stations/line-sig');
    assert.deepEqual(one.body.data?.chain, {
      accepted_up_to: s.events.length,
      last_hash: s.events.at(-1)?.hash,
      verified: true,
      signatures_verified: true,
    });
    const list = await call('GET', 'agent/imports/stations');
    const mine = (list.body.data as unknown as { station_id: string; chain: Record<string, unknown> }[]).find(
      (x) => x.station_id === 'line-sig',
    );
    assert.equal(mine?.chain.signatures_verified, true);
    assert.equal(mine?.chain.accepted_up_to, s.events.length);
  });

  test('a record forged into an earlier request is caught when its batch closes: the summary is recounted over the stored batch', async () => {
    const s = await signedStation(
      'line-count',
      ['N-1', 'N-2'].map((x) => deriveDeviceId(x)),
    );
    dirs.push(s.dir);
    assert.equal((await enrol('line-count', s.key.publicKey)).status, 201);
    const closeAt = s.events.findIndex((e) => e.step === 'batch-close');
    // One more passed device, chained in before the summary; the signed summary itself is untouched.
    const fake = { ...structuredClone(s.events[closeAt - 1]), deviceId: deriveDeviceId('N-999') };
    const forged = [...structuredClone(s.events.slice(0, closeAt)), fake, ...structuredClone(s.events.slice(closeAt))];
    forged.forEach((e, i) => {
      e.seq = i + 1;
    });
    const rehashed = rehashFrom(forged, closeAt);
    const first = await call('POST', 'agent/imports/audit', {
      data: { station: 'line-count', events: rehashed.slice(0, closeAt + 1) },
    });
    assert.equal(first.status, 200, 'no summary in it yet: links and hashes hold');
    const close = await call('POST', 'agent/imports/audit', {
      data: { station: 'line-count', events: rehashed.slice(closeAt + 1) },
    });
    assert.equal(close.status, 422);
    assert.equal(close.code, 'AUDIT_SIGNATURE_INVALID');
    assert.equal(close.body.errors?.seq, closeAt + 2);
    assert.match(String(close.body.errors?.detail), /does not match its events/);
    assert.equal((await call('GET', 'agent/imports/audit/line-count')).body.data?.accepted_up_to, closeAt + 1);
    assert.equal((await refusalsOf('line-count'))[0]?.errorCode, 'AUDIT_SIGNATURE_INVALID');
  });

  test('a batch summary signed by another key than the enrolled one is refused (422), as is a chain from a second station on that id', async () => {
    const s = await signedStation('line-key', [deriveDeviceId('K-1')]);
    dirs.push(s.dir);
    assert.equal((await enrol('line-key', s.key.publicKey)).status, 201);
    // Another station (its own key) that claims the same id: its summaries verify, but under the wrong key.
    const other = await signedStation('line-key', [deriveDeviceId('K-2')]);
    dirs.push(other.dir);
    const r = await call('POST', 'agent/imports/audit', { data: { station: 'line-key', events: other.events } });
    assert.equal(r.status, 422);
    assert.equal(r.code, 'AUDIT_SIGNATURE_INVALID');
    assert.match(String(r.body.errors?.detail), /key other than the one enrolled/);
    assert.equal((await refusalsOf('line-key')).length, 1);
  });

  test('conflicts name the hardware serial and both sides; resolve keeps the core or the station, audited', async () => {
    const shared = deriveDeviceId('C-SHARED');
    const online = deriveDeviceId('C-ONLINE');
    const confirmed = deriveDeviceId('C-CONFIRMED');
    const remote = new RemotePairingClient({ baseUrl: server.url, agentToken: token });
    await remote.registerDevice(REALM, online);
    const confirmedSecret = (await remote.registerDevice(REALM, confirmed)).credentialsSecret;
    await remote.requestCredentials(REALM, confirmed, confirmedSecret, makeDeviceCsr().csrPem);
    await remote.close();
    const a = await signedStation('line-ca', []);
    const b = await signedStation('line-cb', []);
    dirs.push(a.dir, b.dir);
    await enrol('line-ca', a.key.publicKey);
    await enrol('line-cb', b.key.publicKey);
    const at = '2026-03-01T10:00:00.000Z';
    const secretA = 'a'.repeat(43);
    const secretB = 'b'.repeat(43);
    const post = (station: string, batch: string, devices: [string, string, string][]) =>
      call('POST', 'agent/imports/devices', {
        data: {
          station,
          batch,
          devices: devices.map(([id, secret, serial]) => ({
            device_id: id,
            secret_hash: hashSecret(secret),
            registered_at: at,
            hardware_serial: serial,
            operator: 'ann',
          })),
        },
      });
    assert.equal((await post('line-ca', 'batch-a', [[shared, secretA, 'C-SHARED']])).status, 200);
    const r = await post('line-cb', 'batch-b', [
      [shared, secretB, 'C-SHARED'],
      [online, secretB, 'C-ONLINE'],
      [confirmed, secretB, 'C-CONFIRMED'],
    ]);
    assert.deepEqual(
      ((r.body.data?.results ?? []) as { result: string }[]).map((x) => x.result),
      ['conflict', 'conflict', 'conflict'],
    );
    const list = await call('GET', 'agent/imports/conflicts?station=line-cb');
    const byId = new Map((list.body.data?.conflicts ?? []).map((c) => [c.device_id, c]));
    const sharedRow = byId.get(shared);
    assert.equal(sharedRow?.hardware_serial, 'C-SHARED');
    assert.equal(sharedRow?.station, 'line-cb');
    assert.equal(sharedRow?.batch, 'batch-b');
    assert.equal(sharedRow?.registered_at, at);
    assert.deepEqual(sharedRow?.held_by, { station: 'line-ca', batch: 'batch-a', registered_at: at, source: 'import' });
    assert.equal(sharedRow?.resolve, `imprint sync resolve ${shared} --keep core|station`);
    const onlineRow = byId.get(online) as { held_by: { source: string; station: null; registered_at: string } };
    assert.equal(onlineRow.held_by.source, 'online');
    assert.equal(onlineRow.held_by.station, null);
    assert.ok(onlineRow.held_by.registered_at);

    const resolve = (id: string, keep: string, station = 'line-cb', bearer = token) =>
      call('POST', `agent/imports/conflicts/${id}/resolve`, { data: { keep, station } }, bearer);
    // Its own scope (documented): a sync token cannot resolve.
    const sync = await mintAgentToken({
      privateKey: core.agentKeys.privateKeyPem,
      scopes: ['POST::agent/imports/(devices|audit)'],
    });
    assert.equal((await resolve(shared, 'core', 'line-cb', sync)).status, 403);
    // A confirmed device keeps the core's registration.
    const refused = await resolve(confirmed, 'station');
    assert.equal(refused.status, 409);
    assert.equal(refused.code, 'DEVICE_ALREADY_CONFIRMED');
    // keep station: the station's secret now works, the other station's no longer does.
    const kept = await resolve(shared, 'station');
    assert.equal(kept.status, 200);
    assert.equal(kept.body.data?.result, 'imported');
    const device = new RemotePairingClient({ baseUrl: server.url });
    try {
      assert.equal((await device.getInfo(REALM, shared, secretB)).status, 'pending');
      await assert.rejects(device.getInfo(REALM, shared, secretA), { code: 'FORBIDDEN' });
    } finally {
      await device.close();
    }
    // keep core: the station's registration leaves the conflicts; the advice says to re-provision.
    const dropped = await resolve(online, 'core');
    assert.equal(dropped.status, 200);
    assert.equal(dropped.body.data?.result, 'dropped');
    assert.match(String(dropped.body.data?.advice), /provision it again/);
    const after = await call('GET', 'agent/imports/conflicts?station=line-cb');
    assert.deepEqual(
      after.body.data?.conflicts?.map((c) => c.device_id),
      [confirmed],
    );
    assert.equal((await resolve(online, 'core')).status, 404, 'resolved already');
    const decisions = await call('GET', `agent/audit/events?station=${IMPORT_DECISIONS_STATION}&step=conflict-resolve`);
    assert.deepEqual(
      (decisions.body.data?.events ?? []).map((e) => [e.deviceId, e.data?.keep, e.hardwareSerial]).sort(),
      [
        [online, 'core', 'C-ONLINE'],
        [shared, 'station', 'C-SHARED'],
      ].sort(),
    );
  });
});
