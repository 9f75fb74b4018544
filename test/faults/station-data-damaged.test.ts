// A damaged station.db or station key: every station command says what is wrong in one sentence,
// what to do, and exits with a documented code; never a JavaScript error. A record whose sealed
// secret no longer opens (key replaced) can still be settled by an audited decision.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, openSync, rmSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EXIT } from '../../src/cli/exit-codes.ts';
import { SecretVault } from '../../src/station/secret-vault.ts';
import { StationDb } from '../../src/station/station-db.ts';
import { imprint, tempDir } from './fault-harness.ts';

const JS_ERROR = /TypeError|ReferenceError|RangeError|SyntaxError|Cannot read properties|undefined is not|\n\s+at /;
const dirs: string[] = [];
let pristine: string;

before(async () => {
  pristine = tempDir('imprint-damage-src-');
  dirs.push(pristine);
  const r = await imprint(['station', 'run', '--simulate', '1', '--count', '3', '--in-process', '--json', '--data', pristine]);
  assert.equal(r.code, 0, r.stderr);
});
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copy of a station's data folder, damaged by `damage`. */
function damagedCopy(damage: (dir: string) => void): string {
  const dir = tempDir('imprint-damaged-');
  dirs.push(dir);
  for (const f of ['station.db', 'station.key', 'audit.db', 'audit-signing-key.pem', 'pairing.sqlite']) {
    try {
      copyFileSync(join(pristine, f), join(dir, f));
    } catch {}
  }
  rmSync(join(dir, 'ca'), { recursive: true, force: true });
  damage(dir);
  return dir;
}

const COMMANDS: string[][] = [
  ['station', 'status'],
  ['station', 'recover'],
  ['station', 'run', '--simulate', '1', '--count', '1', '--in-process'],
];

async function assertClearError(dir: string, code: number, sentence: RegExp): Promise<void> {
  for (const args of COMMANDS) {
    const r = await imprint([...args, '--data', dir]);
    const what = `${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`;
    assert.equal(r.code, code, what);
    assert.match(r.stderr, sentence, what);
    assert.match(r.stderr, /→ .*(restore|backup)/i, `says what to do: ${what}`);
    assert.doesNotMatch(r.stderr, JS_ERROR, `no JavaScript error text: ${what}`);
  }
}

test('station.db cut in half: a damaged station database, exit 6, every command', async () => {
  const dir = damagedCopy((d) => truncateSync(join(d, 'station.db'), Math.floor(statSync(join(d, 'station.db')).size / 2)));
  await assertClearError(
    dir,
    6,
    /STATION_STORAGE_DAMAGED: A station database is damaged.*station database cannot be used.*station\.db/,
  );
});

test('station.db overwritten at its start: not a database, exit 6, every command', async () => {
  const dir = damagedCopy((d) => {
    const fd = openSync(join(d, 'station.db'), 'r+');
    writeSync(fd, Buffer.alloc(100, 0x41), 0, 100, 0);
    closeSync(fd);
  });
  await assertClearError(dir, 6, /station\.db: file is not a database/);
});

test('station.key cut short: the station refuses with what to do, exit 1 (status still lists what is pending)', async () => {
  const dir = damagedCopy((d) => writeFileSync(join(d, 'station.key'), randomBytes(10), { mode: 0o600 }));
  for (const args of COMMANDS.slice(1)) {
    const r = await imprint([...args, '--data', dir]);
    const what = `${args.join(' ')}: exit ${r.code}\n${r.stderr}`;
    assert.equal(r.code, 1, what);
    assert.match(r.stderr, /station key is not a 32-byte key \(damaged or cut\).*station\.key/, what);
    assert.match(r.stderr, /→ Restore station\.key from its backup/, what);
    assert.doesNotMatch(r.stderr, JS_ERROR, what);
  }
  const status = await imprint(['station', 'status', '--data', dir]);
  assert.equal(status.code, 0, status.stderr);
});

test('a record sealed under another key (station.key replaced) is still settled by an audited discard', async () => {
  const dir = damagedCopy(() => {});
  const db = StationDb.open(join(dir, 'station.db'));
  const vault = SecretVault.open({ keyFile: join(dir, 'station.key'), db });
  const rec = vault.putSync(
    { deviceId: 'AJInS0w3VpWpuOqkXhgZdA', hardwareSerial: 'LOST-1', fixture: 'bay-gone', realm: 'imprint' },
    randomBytes(32).toString('base64'),
  );
  db.close();
  writeFileSync(join(dir, 'station.key'), randomBytes(32), { mode: 0o600 });

  const kept = await imprint(['station', 'recover', '--data', dir]);
  assert.equal(kept.code, EXIT.PENDING, kept.stdout + kept.stderr);
  assert.match(kept.stdout, /KEPT bay-gone LOST-1/);
  const refused = await imprint(['station', 'recover', '--data', dir, '--discard', String(rec.vaultId)]);
  assert.equal(refused.code, 2, 'a decision names who decides');
  assert.match(refused.stderr, /--operator/);
  const r = await imprint(['station', 'recover', '--data', dir, '--discard', String(rec.vaultId), '--operator', 'qa-lead']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /DISCARDED/);
  assert.match(r.stdout, /could not be asked/);
  assert.doesNotMatch(r.stdout + r.stderr, JS_ERROR);
  const status = await imprint(['station', 'status', '--json', '--data', dir]);
  assert.equal(status.code, 0);
  const events = await imprint(['audit', 'query', '--step', 'recover', '--json', '--data', dir]);
  const decision = JSON.parse(events.stdout).find((e: { hardwareSerial?: string }) => e.hardwareSerial === 'LOST-1');
  assert.equal(decision?.operator, 'qa-lead');
  assert.equal(decision?.data?.decision, 'discard');
});
