// The import API and the central audit on a remote core (in-process server on 127.0.0.1), driven by
// the sync client from a station data dir.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { eventFromEntry } from '../../src/audit/audit-canonical.ts';
import type { AuditEvent } from '../../src/audit/audit-types.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { type RunningPairingServer, servePairing } from '../../src/pairing/http/server.ts';
import { RemotePairingClient } from '../../src/pairing/remote-client.ts';
import { SyncClient } from '../../src/sync/sync-client.ts';
import { openTestCore, type TestCore } from '../helpers/pairing-core.ts';
import { assertDeviceWorks, enrolStation, makeStationData } from './sync-harness.ts';

const REALM = 'test';

function readEvents(dir: string): AuditEvent[] {
  const db = new Database(join(dir, 'audit.db'), { readonly: true });
  try {
    return (db.prepare('SELECT entry FROM events ORDER BY seq').pluck().all() as string[]).map(eventFromEntry);
  } finally {
    db.close();
  }
}

describe('import API and central audit', () => {
  let remote: TestCore;
  let server: RunningPairingServer;
  let token: string;
  const cleanups: string[] = [];

  before(async () => {
    remote = await openTestCore({ realm: REALM });
    server = await servePairing({ core: remote.core, host: '127.0.0.1', port: 0 });
    token = await mintAgentToken({ privateKey: remote.agentKeys.privateKeyPem });
  });

  after(async () => {
    await server.close();
    await remote.cleanup();
    for (const d of cleanups) rmSync(d, { recursive: true, force: true });
  });

  // Imports are accepted from enrolled stations only (plant IT enrols each with its signing key).
  const enrol = (dir: string, stationId: string) => enrolStation({ url: server.url, realm: REALM, token, dir, stationId });

  const post = (path: string, body: unknown, bearer = token) =>
    fetch(`${server.url}/v1/${REALM}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${bearer}` },
      body: JSON.stringify(body),
    });

  test('offline devices imported: their flashed secrets work on the remote; re-sync is harmless; no secret on the wire', async () => {
    const ids = ['SN-1', 'SN-2', 'SN-3'].map((s) => deriveDeviceId(s));
    const station = await makeStationData({ realm: REALM, stationId: 'line-1', devices: ids });
    cleanups.push(station.dir);
    await enrol(station.dir, 'line-1');
    const sent: string[] = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      if (typeof init?.body === 'string') sent.push(init.body);
      return realFetch(input, init);
    }) as typeof fetch;
    let first: Awaited<ReturnType<SyncClient['run']>>;
    let second: Awaited<ReturnType<SyncClient['run']>>;
    try {
      const client = () =>
        new SyncClient({
          dataDir: station.dir,
          remoteUrl: server.url,
          agentToken: token,
          realm: REALM,
          stationId: 'line-1',
          deviceChunk: 2,
        });
      first = await client().run();
      second = await client().run();
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.deepEqual(first.devices, { pending: 3, imported: 3, alreadyPresent: 0, conflicts: 0 });
    assert.equal(first.audit.sent, 6);
    assert.equal(first.audit.acceptedUpTo, 6);
    assert.deepEqual(second.devices, { pending: 0, imported: 0, alreadyPresent: 0, conflicts: 0 });
    assert.equal(second.audit.sent, 0);
    for (const secret of station.secrets.values()) assert.ok(!sent.some((b) => b.includes(secret)), 'a secret was sent');
    assert.ok(
      sent.some((b) => b.includes('$imprint-sha256$v=1$')),
      'hashes are sent',
    );
    await assertDeviceWorks(server.url, REALM, ids[0], station.secrets.get(ids[0])!);
    // A chunk sent again (a cut after the remote committed) is answered already_present.
    const again = await post('agent/imports/devices', {
      data: {
        station: 'line-1',
        batch: 'b',
        devices: [
          {
            device_id: ids[1],
            secret_hash: (await remote.core.showDevice(REALM, ids[1])) && hashOf(remote, ids[1]),
            registered_at: new Date().toISOString(),
          },
        ],
      },
    });
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as { data: { results: { result: string }[] } }).data.results[0].result, 'already_present');
  });

  test('a device registered on the remote meanwhile is a conflict, reported and not overwritten', async () => {
    const id = deriveDeviceId('SN-CONFLICT');
    const online = new RemotePairingClient({ baseUrl: server.url, agentToken: token });
    const { credentialsSecret: remoteSecret } = await online.registerDevice(REALM, id);
    await online.close();
    const station = await makeStationData({ realm: REALM, stationId: 'line-2', devices: [id, deriveDeviceId('SN-OK')] });
    cleanups.push(station.dir);
    await enrol(station.dir, 'line-2');
    const summary = await new SyncClient({
      dataDir: station.dir,
      remoteUrl: server.url,
      agentToken: token,
      realm: REALM,
      stationId: 'line-2',
    }).run();
    assert.equal(summary.devices.imported, 1);
    assert.equal(summary.devices.conflicts, 1);
    assert.equal(summary.conflicts[0].deviceId, id);
    assert.match(summary.conflicts[0].reason, /registered elsewhere with another secret/);
    // The remote kept its own registration: its secret works, the station's does not.
    await assertDeviceWorks(server.url, REALM, id, remoteSecret);
    const device = new RemotePairingClient({ baseUrl: server.url });
    await assert.rejects(device.getInfo(REALM, id, station.secrets.get(id)!), { code: 'FORBIDDEN' });
    await device.close();
    // Now confirmed on the remote: still a conflict, with that reason; listed for QA.
    const resync = await new SyncClient({
      dataDir: station.dir,
      remoteUrl: server.url,
      agentToken: token,
      realm: REALM,
      stationId: 'line-2',
    }).run();
    assert.match(resync.conflicts[0]?.reason ?? '', /already confirmed/);
    const res = await fetch(`${server.url}/v1/${REALM}/agent/imports/conflicts?station=line-2`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const listed = (await res.json()) as { data: { conflicts: { device_id: string }[] } };
    assert.deepEqual(
      listed.data.conflicts.map((c) => c.device_id),
      [id],
    );
  });

  test('a tampered or gapped station chain is refused with the position where it broke; nothing of it is stored', async () => {
    const station = await makeStationData({
      realm: REALM,
      stationId: 'line-3',
      devices: ['a', 'b', 'c'].map((s) => deriveDeviceId(s)),
    });
    cleanups.push(station.dir);
    await enrol(station.dir, 'line-3');
    const events = readEvents(station.dir);
    const tampered = events.map((e) => (e.seq === 4 ? { ...e, operator: 'mallory' } : e));
    let res = await post('agent/imports/audit', { data: { station: 'line-3', events: tampered } });
    assert.equal(res.status, 422);
    let body = (await res.json()) as { errors: { seq: number; refusal: string; accepted_up_to: number } };
    assert.equal(body.errors.seq, 4);
    assert.equal(body.errors.refusal, 'tampered');
    assert.equal(body.errors.accepted_up_to, 0);

    const gapped = events.filter((e) => e.seq !== 3);
    res = await post('agent/imports/audit', { data: { station: 'line-3', events: gapped } });
    assert.equal(res.status, 409);
    body = (await res.json()) as typeof body;
    assert.equal(body.errors.seq, 3);
    assert.equal(body.errors.refusal, 'gap');

    // The genuine chain is accepted, then re-sent harmlessly; a changed copy of an accepted event is refused.
    res = await post('agent/imports/audit', { data: { station: 'line-3', events: events.slice(0, 4) } });
    assert.equal(res.status, 200);
    res = await post('agent/imports/audit', { data: { station: 'line-3', events } });
    assert.equal(((await res.json()) as { data: { accepted_up_to: number } }).data.accepted_up_to, events.length);
    res = await post('agent/imports/audit', { data: { station: 'line-3', events: [{ ...events[1], message: 'x' }] } });
    assert.equal(res.status, 409);
    assert.equal(((await res.json()) as typeof body).errors.refusal, 'differs');

    // The sync client reports a refusal with its position.
    const other = await makeStationData({ realm: REALM, stationId: 'line-4', devices: [deriveDeviceId('z')] });
    cleanups.push(other.dir);
    await enrol(other.dir, 'line-4');
    const db = new Database(join(other.dir, 'audit.db'));
    db.exec('DROP TRIGGER IF EXISTS events_no_update');
    const triggers = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
      .pluck()
      .all() as string[];
    for (const t of triggers) db.exec(`DROP TRIGGER "${t}"`);
    db.prepare('UPDATE events SET entry = replace(entry, \'"operator":"alice"\', \'"operator":"eve"\') WHERE seq = 2').run();
    db.close();
    await assert.rejects(
      new SyncClient({ dataDir: other.dir, remoteUrl: server.url, agentToken: token, realm: REALM, stationId: 'line-4' }).run(),
      (e: Error & { code?: string; details?: { seq?: number } }) => {
        assert.equal(e.code, 'SYNC_CHAIN_REFUSED');
        assert.equal(e.details?.seq, 2);
        return true;
      },
    );
  });

  test('the central audit answers across stations; the import routes need the agent token', async () => {
    const res = await fetch(`${server.url}/v1/${REALM}/agent/audit/events?step=record&limit=1000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { data: { events: AuditEvent[]; stations: { station: string }[] } };
    const stations = new Set(body.data.events.map((e) => e.station));
    assert.ok(stations.has('line-1') && stations.has('line-2'), `stations: ${[...stations]}`);
    assert.ok(body.data.events.every((e) => e.step === 'record'));
    const noToken = await fetch(`${server.url}/v1/${REALM}/agent/audit/events`);
    assert.equal(noToken.status, 401);
    const narrow = await mintAgentToken({ privateKey: remote.agentKeys.privateKeyPem, scopes: ['POST::agent/devices'] });
    const denied = await post('agent/imports/devices', { data: { station: 's', batch: 'b', devices: [] } }, narrow);
    assert.equal(denied.status, 403);
  });
});

function hashOf(t: TestCore, deviceId: string): string {
  const db = new Database(join(t.dataDir, 'pairing.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT secret_hash FROM devices WHERE realm = ? AND device_id = ?').pluck().get(REALM, deviceId) as string;
  } finally {
    db.close();
  }
}
