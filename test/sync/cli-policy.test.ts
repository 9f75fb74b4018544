// `imprint station run --pairing URL --policy …` with the remote stopped: plain `remote` pauses the
// line (a station fault, no device failed; --max-pause ends the run with exit 6), `deferred` parks the
// devices it identified (nothing written), `remote-with-offline-fallback` passes them in the embedded
// core when the station learnt earlier that this core imports them, and is refused when it never did.
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { freePort, runCli } from './remote-process.ts';
import { tempDir } from './sync-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dir(): string {
  const d = tempDir('imprint-cli-policy-');
  dirs.push(d);
  return d;
}

test('station run --policy: remote pauses the line, deferred parks devices with nothing written, remote-with-offline-fallback passes offline only towards a core known to import them', async () => {
  // A URL nobody listens on: the remote core is stopped.
  const url = `http://127.0.0.1:${await freePort()}`;
  const token = await mintAgentToken({ privateKey: makeAgentKeyPair().privateKeyPem });
  const env = { IMPRINT_AGENT_TOKEN: token, IMPRINT_LOG_LEVEL: 'error' };
  const run = (data: string, extra: string[]) =>
    runCli(
      [
        'station',
        'run',
        '--data',
        data,
        '--simulate',
        '2',
        '--count',
        '2',
        '--in-process',
        '--json',
        '--realm',
        'plant',
        '--pairing',
        url,
        ...extra,
      ],
      { env },
    );
  const plain = dir();
  const fallback = dir();
  const unknown = dir();
  const deferred = dir();
  // The fallback station reached this core before and learnt that it imports offline registrations.
  writeFileSync(
    join(fallback, 'station.json'),
    JSON.stringify({
      realm: 'plant',
      pairing: {
        mode: 'remote-with-offline-fallback',
        url,
        capabilities: { url, realm: 'plant', offlineImports: true, probedAt: new Date().toISOString() },
      },
    }),
  );
  const [remote, offline, refused, parked, usage] = await Promise.all([
    run(plain, ['--max-pause', '1']),
    run(fallback, ['--policy', 'remote-with-offline-fallback']),
    run(unknown, ['--policy', 'remote-with-offline-fallback']),
    run(deferred, ['--policy', 'deferred', '--max-pause', '2']),
    runCli(['station', 'run', '--data', dir(), '--simulate', '1', '--count', '1', '--policy', 'remote'], { env }),
  ]);

  assert.equal(remote.code, 6, remote.stderr);
  const paused = JSON.parse(remote.stdout);
  assert.equal(paused.passed, 0);
  assert.equal(paused.failed, 0);
  assert.equal(paused.linePause?.code, 'PAIRING_CORE_UNREACHABLE');

  assert.equal(offline.code, 0, offline.stderr);
  const ran = JSON.parse(offline.stdout);
  assert.equal(ran.passed, 2);
  // Offline is visible in the summary: registered offline, waiting to sync.
  assert.deepEqual([ran.offline, ran.waitingToSync], [2, 2]);
  const status = await runCli(['station', 'status', '--data', fallback, '--json'], { env });
  assert.equal(JSON.parse(status.stdout).offline.waitingToSync, 2, status.stderr);
  const [statusText, syncText] = await Promise.all([
    runCli(['station', 'status', '--data', fallback], { env }),
    runCli(['sync', 'status', '--data', fallback], { env }),
  ]);
  assert.match(statusText.stdout, /offline: 2 device\(s\) waiting to sync in 1 batch/);
  assert.match(syncText.stdout, /waiting to sync: 2 device\(s\)[\s\S]*\n {2}batch offline-.*: 2 device\(s\) since /);
  // Registered in the station's embedded core, ready for `imprint sync`.
  const db = new Database(join(fallback, 'pairing.sqlite'), { readonly: true });
  try {
    assert.equal(db.prepare("SELECT count(*) FROM devices WHERE realm = 'plant' AND secret_hash IS NOT NULL").pluck().get(), 2);
  } finally {
    db.close();
  }

  // Never learnt whether this core imports: the fallback is refused, in JSON with what to do.
  assert.equal(refused.code, 1, refused.stderr);
  const error = JSON.parse(refused.stdout).error;
  assert.equal(error.code, 'OFFLINE_CAPABILITY_UNKNOWN');
  assert.match(error.message, new RegExp(`realm plant at ${url}`));
  assert.match(error.hint, /deferred/);
  assert.equal(existsSync(join(unknown, 'pairing.sqlite')), false, 'nothing was registered offline');

  // Deferred: the devices were identified and parked, none failed, none written.
  assert.equal(parked.code, 6, parked.stderr);
  const p = JSON.parse(parked.stdout);
  assert.deepEqual([p.passed, p.failed, p.parked], [0, 0, 2]);
  assert.equal(p.linePause?.code, 'PAIRING_CORE_UNREACHABLE');
  assert.equal(existsSync(join(deferred, 'pairing.sqlite')), false, 'no embedded core in deferred mode');

  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--policy needs --pairing URL/);
  assert.match(usage.stderr, /\n {2}→ /, 'the usage error is followed by its action');
});
