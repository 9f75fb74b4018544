// Station identity and enrolment, station side: ids made once (host name + random suffix) and kept,
// so two hosts with the same name never collide; `imprint station enroll` and `imprint sync resolve`
// speak the central core's contract (docs/sync.md) — here against a stand-in that records what it is
// sent and answers as the contract says (the core side is tested with the core); every refusal
// prints its action and names realm and remote.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadOrCreateSigningKey } from '../../src/audit/station-signing-key.ts';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { servePairing } from '../../src/pairing/http/server.ts';
import { hostStationId, loadStationConfig, stationConfigPath, stationIdOf } from '../../src/station/station-config.ts';
import { SyncClient } from '../../src/sync/sync-client.ts';
import { SyncState, syncStateFile } from '../../src/sync/sync-state.ts';
import { AstartePeer } from '../helpers/astarte-peer.ts';
import { openTestCore } from '../helpers/pairing-core.ts';
import { runCli } from './remote-process.ts';
import { makeStationData, tempDir } from './sync-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function dir(prefix: string): string {
  const d = tempDir(prefix);
  dirs.push(d);
  return d;
}

test('a station id is made once per data folder (host name + random suffix), stored, and kept', () => {
  const a = dir('imprint-id-a-');
  const b = dir('imprint-id-b-');
  const idA = stationIdOf(a);
  const idB = stationIdOf(b);
  // Same host, two stations: two ids.
  assert.notEqual(idA, idB);
  assert.match(idA, new RegExp(`^${hostStationId()}-[0-9a-f]{6}$`));
  assert.equal(loadStationConfig(stationConfigPath(a)).stationId, idA, 'stored in station.json');
  assert.equal(stationIdOf(a), idA);
  // A folder whose trail predates suffixes keeps the id its trail carries.
  const old = dir('imprint-id-old-');
  writeFileSync(join(old, 'audit.db'), '');
  assert.equal(stationIdOf(old), hostStationId());
  // A station.json without an id gets one, keeping what it says.
  const hand = dir('imprint-id-hand-');
  writeFileSync(join(hand, 'station.json'), JSON.stringify({ realm: 'plant' }));
  const c = loadStationConfig(stationConfigPath(hand));
  assert.equal(c.realm, 'plant');
  assert.equal(loadStationConfig(stationConfigPath(hand)).stationId, c.stationId);
});

test('two stations on hosts with the same name sync to one core without colliding', async () => {
  const core = await openTestCore({ realm: 'plant' });
  const server = await servePairing({ core: core.core, host: '127.0.0.1', port: 0 });
  try {
    const token = await mintAgentToken({ privateKey: core.agentKeys.privateKeyPem });
    const summaries = [];
    for (const [i, prefix] of ['imprint-twin-a-', 'imprint-twin-b-'].entries()) {
      const d = dir(prefix);
      const stationId = stationIdOf(d); // same host name, each its own id
      const data = await makeStationData({ realm: 'plant', stationId, devices: [deriveDeviceId(`TWIN-${i}`)], dir: d });
      // Plant IT enrols each station with the real command against the real core (its key is bound to its id).
      const enrol = await runCli(['station', 'enroll', '--data', d, '--pairing', server.url, '--realm', 'plant'], {
        env: { IMPRINT_AGENT_TOKEN: token },
      });
      assert.equal(enrol.code, 0, enrol.stdout + enrol.stderr);
      summaries.push(
        await new SyncClient({ dataDir: data.dir, remoteUrl: server.url, agentToken: token, realm: 'plant', stationId }).run(),
      );
    }
    assert.notEqual(summaries[0].station, summaries[1].station);
    for (const s of summaries) {
      assert.equal(s.devices.imported, 1);
      assert.equal(s.audit.acceptedUpTo, s.audit.localLastSeq);
    }
  } finally {
    await server.close();
    await core.cleanup();
  }
});

interface Seen {
  method: string;
  url: string;
  body: unknown;
}

/** A stand-in for the central core's enrolment and conflict routes, answering as the contract says. */
async function contractCore(answer: (s: Seen) => { status: number; code?: string; body: unknown }) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (d) => {
      text += d;
    });
    req.on('end', () => {
      const s = { method: req.method ?? '', url: req.url ?? '', body: text ? JSON.parse(text) : undefined };
      seen.push(s);
      const a = answer(s);
      res.writeHead(a.status, { 'content-type': 'application/json', ...(a.code ? { 'x-imprint-error': a.code } : {}) });
      res.end(JSON.stringify(a.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('imprint station enroll posts the station id and its raw Ed25519 key; a second key for the id is explained', async () => {
  const data = dir('imprint-enroll-');
  let enrolled: string | undefined;
  const core = await contractCore((s) => {
    const d = (s.body as { data: { station_id: string; public_key: string; key_id: string } }).data;
    if (enrolled === undefined || enrolled === d.public_key) {
      const created = enrolled === undefined;
      enrolled = d.public_key;
      return {
        status: created ? 201 : 200,
        body: { data: { station_id: d.station_id, key_id: d.key_id, enrolled_at: '2026-12-03T10:00:00.000Z' } },
      };
    }
    return { status: 409, code: 'STATION_KEY_MISMATCH', body: { errors: { detail: 'enrolled with another key' } } };
  });
  try {
    const env = { IMPRINT_AGENT_TOKEN: 'a.b.c' };
    const args = ['station', 'enroll', '--data', data, '--pairing', core.url, '--realm', 'plant', '--station-id', 'line-7'];
    const first = await runCli([...args, '--json'], { env });
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.equal(JSON.parse(first.stdout).created, true);
    const sent = core.seen[0];
    assert.deepEqual([sent.method, sent.url], ['POST', '/v1/plant/agent/imports/stations']);
    const body = (sent.body as { data: { station_id: string; public_key: string; key_id: string } }).data;
    const key = loadOrCreateSigningKey(data);
    assert.equal(body.station_id, 'line-7');
    assert.equal(body.key_id, key.keyId);
    assert.equal(Buffer.from(body.public_key, 'base64').length, 32);
    const jwk = createPublicKey({ key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki' }).export({
      format: 'jwk',
    });
    assert.equal(Buffer.from(body.public_key, 'base64').toString('base64url'), jwk.x);
    // The id given at enrolment is the station's from now on.
    assert.equal(loadStationConfig(stationConfigPath(data)).stationId, 'line-7');

    const again = await runCli(args, { env });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already enrolled: station line-7/);

    // Another station (another key) claiming the same id.
    const other = dir('imprint-enroll-other-');
    const clash = await runCli(
      ['station', 'enroll', '--data', other, '--pairing', core.url, '--realm', 'plant', '--station-id', 'line-7'],
      {
        env,
      },
    );
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, new RegExp(`^imprint: STATION_KEY_MISMATCH: .*realm plant at ${core.url}`));
    assert.match(clash.stderr, /\n {2}→ .*--station-id NEW/);
  } finally {
    await core.close();
  }
});

test('enrolling at a core without the import API (Astarte) says so; a token without the scope is told which scope', async () => {
  const peer = await AstartePeer.create(dir('imprint-enroll-astarte-'), 'plant');
  await peer.start();
  const forbidden = await contractCore(() => ({ status: 403, body: { errors: { detail: 'Forbidden' } } }));
  try {
    const env = { IMPRINT_AGENT_TOKEN: 'a.b.c' };
    const astarte = await runCli(
      ['station', 'enroll', '--data', dir('imprint-enroll-x-'), '--pairing', peer.url, '--realm', 'plant'],
      { env },
    );
    assert.equal(astarte.code, 1);
    assert.match(astarte.stderr, /^imprint: (ENROLMENT_UNSUPPORTED|REMOTE_TOKEN_REFUSED): /);
    assert.match(astarte.stderr, /\n {2}→ /);
    const scope = await runCli(
      ['station', 'enroll', '--data', dir('imprint-enroll-y-'), '--pairing', forbidden.url, '--realm', 'plant'],
      {
        env,
      },
    );
    assert.equal(scope.code, 1);
    assert.match(scope.stderr, /REMOTE_SCOPE_MISSING: .*POST::agent\/imports\/stations.*realm plant at/);
    assert.match(scope.stderr, /\n {2}→ /);
  } finally {
    await forbidden.close();
    await peer.stop();
  }
});

test('imprint sync resolve posts the decision, forgets the conflict locally, and tells what to do next', async () => {
  const data = dir('imprint-resolve-');
  mkdirSync(data, { recursive: true });
  const core = await contractCore((s) =>
    s.url.endsWith('/DEV1/resolve')
      ? { status: 200, body: { data: { device_id: 'DEV1', kept: 'core' } } }
      : { status: 409, code: 'DEVICE_ALREADY_CONFIRMED', body: { errors: { detail: 'already confirmed' } } },
  );
  try {
    writeFileSync(
      join(data, 'station.json'),
      JSON.stringify({ stationId: 'line-r', realm: 'plant', pairing: { mode: 'remote-with-offline-fallback', url: core.url } }),
    );
    const state = SyncState.open(syncStateFile(data));
    state.recordAcks(
      core.url,
      'plant',
      [{ deviceId: 'DEV1', secretHash: 'h', result: 'conflict', reason: 'registered elsewhere' }],
      'now',
    );
    state.close();
    const env = { IMPRINT_AGENT_TOKEN: 'a.b.c' };
    const ok = await runCli(['sync', 'resolve', 'DEV1', '--keep', 'core', '--data', data], { env });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /re-provision the device online/);
    assert.deepEqual(core.seen[0].body, { data: { keep: 'core', station: 'line-r' } });
    assert.equal(core.seen[0].url, '/v1/plant/agent/imports/conflicts/DEV1/resolve');
    const listed = await runCli(['sync', 'conflicts', '--data', data, '--json'], { env });
    assert.deepEqual(JSON.parse(listed.stdout), [], 'a resolved conflict is no longer listed');

    const confirmed = await runCli(['sync', 'resolve', 'DEV2', '--keep', 'station', '--data', data], { env });
    assert.equal(confirmed.code, 1);
    assert.match(confirmed.stderr, /^imprint: DEVICE_ALREADY_CONFIRMED: .*\n {2}→ .*--keep core/);
    const bad = await runCli(['sync', 'resolve', 'DEV2', '--keep', 'both', '--data', data], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /BAD_USAGE: .*--keep must be "core" or "station"[\s\S]*\n {2}→ /);
  } finally {
    await core.close();
  }
});
