// `imprint station run --pairing URL --policy …` with the remote stopped: plain `remote` pauses the
// line (a station fault, no device failed; --max-pause ends the run with exit 6),
// `remote-with-offline-fallback` passes them in the embedded core.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
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

test('station run --policy: remote pauses the line (PAIRING_CORE_UNREACHABLE), remote-with-offline-fallback passes offline', async () => {
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
  const [remote, offline, usage] = await Promise.all([
    run(plain, ['--max-pause', '1']),
    run(fallback, ['--policy', 'remote-with-offline-fallback']),
    runCli(['station', 'run', '--data', dir(), '--simulate', '1', '--count', '1', '--policy', 'remote'], { env }),
  ]);

  assert.equal(remote.code, 6, remote.stderr);
  const paused = JSON.parse(remote.stdout);
  assert.equal(paused.passed, 0);
  assert.equal(paused.failed, 0);
  assert.equal(paused.linePause?.code, 'PAIRING_CORE_UNREACHABLE');

  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(JSON.parse(offline.stdout).passed, 2);
  // Registered in the station's embedded core, ready for `imprint sync`.
  const db = new Database(join(fallback, 'pairing.sqlite'), { readonly: true });
  try {
    assert.equal(db.prepare("SELECT count(*) FROM devices WHERE realm = 'plant' AND secret_hash IS NOT NULL").pluck().get(), 2);
  } finally {
    db.close();
  }

  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /--policy needs --pairing URL/);
});
