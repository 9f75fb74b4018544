// A settings change reconfigures the running station in place: the same station, its databases
// still open (station.db, the vault, the audit trail), its counters kept, and the line running on
// if it ran. Settings the station cannot run on leave the old ones running, untouched.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { OperatorAuth } from '../../src/api/operator-auth.ts';
import { StationService } from '../../src/api/station-service.ts';
import { FileSecretStore } from '../../src/station/secret-store.ts';
import { withTimeout } from '../ui/station-harness.ts';

const ADMIN_PIN = '482915';

async function until(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  await withTimeout(
    (async () => {
      while (!(await probe())) await new Promise((r) => setTimeout(r, 25));
    })(),
    30_000,
    `timed out waiting for ${what}`,
  );
}

describe('a settings change on a running station', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-settings-in-place-'));
  let service: StationService;

  before(async () => {
    const { auth } = OperatorAuth.open(dataDir, { IMPRINT_ADMIN_PIN: ADMIN_PIN });
    service = await StationService.open({
      dataDir,
      auth,
      secrets: new FileSecretStore(join(dataDir, 'secrets.json')),
      simulate: { fixtures: 2, swapDelayMs: 0 },
    });
    await service.signIn({ name: 'Sam' });
    await service.openBatch('WO-IN-PLACE');
  });
  after(async () => {
    await service.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('keeps the station, its open databases and its counters; the line runs on', async () => {
    await service.start();
    await until('3 devices', async () => (await service.getStatus()).counters.done >= 3);
    const station = service.current;
    const { audit, db, vault } = station;
    const doneBefore = station.summary().done;

    // One change the pairing core does not see, one it does (a new realm in the embedded core).
    await service.updateSettings({ allowStartWithoutBatch: true, labelTemplate: '^XA^FD{serial}^FS^XZ' }, ADMIN_PIN);
    await service.updateSettings({ realm: 'secondrealm' }, ADMIN_PIN);

    assert.equal(service.current, station, 'the same station object');
    assert.equal(station.audit, audit, 'the same audit trail');
    assert.equal(station.db, db, 'the same station.db');
    assert.equal(station.vault, vault, 'the same vault');
    // A closed database throws on use: these still answer.
    assert.equal(audit.currentBatch()?.workOrder, 'WO-IN-PLACE');
    // (The line resumed inside updateSettings: a device may already hold a pending record.)
    assert.ok(Array.isArray(station.pending().records));
    assert.ok(station.summary().done >= doneBefore, 'the run summary was not reset');

    const status = await service.getStatus();
    assert.equal(status.running, true, 'the line resumed');
    assert.equal(status.pairing.realm, 'secondrealm');
    assert.equal(status.operator?.name, 'Sam');
    const counted = status.counters.done;
    assert.ok(counted >= 3, 'the shift counters were kept');
    await until('the next device after the change', async () => (await service.getStatus()).counters.done > counted);
    const changes = await service.queryAuditPage({ step: 'settings-change', outcome: 'ok' });
    assert.equal(changes.total, 2);
  });

  test('settings it cannot run on leave the old ones running on the same databases', async () => {
    const station = service.current;
    const { audit } = station;
    await assert.rejects(service.updateSettings({ pairing: { mode: 'remote', url: 'http://127.0.0.1:9/' } }, ADMIN_PIN), {
      code: 'AGENT_TOKEN_MISSING',
    });
    assert.equal(service.current, station);
    assert.equal(station.audit, audit);
    const status = await service.getStatus();
    assert.equal(status.pairing.mode, 'embedded');
    assert.equal(status.pairing.realm, 'secondrealm');
    assert.equal(status.running, true, 'never stopped');
    assert.equal((await service.getSettings()).pairing.mode, 'embedded');
    await service.stop();
  });

  test('a new station id reopens the station (it names the trail), and the line state is kept', async () => {
    const before = service.current;
    await service.updateSettings({ stationId: 'station-renamed' }, ADMIN_PIN);
    assert.notEqual(service.current, before, 'reopened');
    const status = await service.getStatus();
    assert.equal(status.stationId, 'station-renamed');
    assert.equal(status.operator?.name, 'Sam');
    assert.equal(status.batch?.workOrder, 'WO-IN-PLACE');
  });
});
