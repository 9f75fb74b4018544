// `imprint audit verify --remote`: the core's copy of a station's trail checked on the station, end to
// end, under the enrolled key and against the station's own chain-head checkpoint. A copy altered on the
// core (triggers dropped first, as anyone holding its database can) is found and named.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { deriveDeviceId } from '../../src/common/device-id.ts';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { servePairing } from '../../src/pairing/http/server.ts';
import { stationIdOf } from '../../src/station/station-config.ts';
import { SyncClient } from '../../src/sync/sync-client.ts';
import { openTestCore } from '../helpers/pairing-core.ts';
import { runCli } from './remote-process.ts';
import { enrolStation, makeStationData, tempDir } from './sync-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('audit verify --remote checks the central copy end to end, and finds an event altered on the core', async () => {
  const core = await openTestCore({ realm: 'plant', store: 'sqlite' });
  const server = await servePairing({ core: core.core, host: '127.0.0.1', port: 0 });
  try {
    const token = await mintAgentToken({ privateKey: core.agentKeys.privateKeyPem });
    const d = tempDir('imprint-remote-verify-');
    dirs.push(d);
    const stationId = stationIdOf(d);
    await makeStationData({ realm: 'plant', stationId, devices: [1, 2, 3].map((i) => deriveDeviceId(`RV-${i}`)), dir: d });
    await enrolStation({ url: server.url, realm: 'plant', token, dir: d, stationId });
    const synced = await new SyncClient({
      dataDir: d,
      remoteUrl: server.url,
      agentToken: token,
      realm: 'plant',
      stationId,
    }).run();
    assert.ok(synced.audit.acceptedUpTo >= 6);

    const args = ['audit', 'verify', '--data', d, '--remote', server.url, '--realm', 'plant'];
    const env = { IMPRINT_AGENT_TOKEN: token };
    const good = await runCli(args, { env });
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, new RegExp(`central copy of ${stationId} .*OK: ${synced.audit.acceptedUpTo} events verified`));

    // Someone with the core's database rewrites one event of the station's copy.
    const db = new Database(join(core.dataDir, 'pairing.sqlite'));
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as { name: string }[])
      db.exec(`DROP TRIGGER "${name}"`);
    const row = db.prepare('SELECT body FROM central_audit_events WHERE station = ? AND seq = 3').get(stationId) as {
      body: string;
    };
    db.prepare('UPDATE central_audit_events SET body = ? WHERE station = ? AND seq = 3').run(
      row.body.replace('"outcome":"ok"', '"outcome":"fail"'),
      stationId,
    );
    db.close();
    const bad = await runCli([...args, '--json'], { env });
    assert.equal(bad.code, 3, bad.stdout + bad.stderr);
    const verdict = JSON.parse(bad.stdout);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.brokenAt, 3);

    // Without a token the command says what it needs, and where.
    const refused = await runCli(args, { env: { IMPRINT_AGENT_TOKEN: 'a.b.c' } });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr + refused.stdout, /realm plant at http:\/\/127\.0\.0\.1/);
  } finally {
    await server.close();
    await core.cleanup();
  }
});
