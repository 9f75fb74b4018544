// Files a station or a core creates are private to their owner: every folder 0700, every file 0600
// (databases and their -wal/-shm while open, keys, the CA, the admin PIN, the sync journal, the
// config and the secret store). A data folder left 0755 by an older version is tightened, and the
// log says so once.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FileSecretStore } from '../../src/station/secret-store.ts';
import { defaultStationConfig, saveStationConfig } from '../../src/station/station-config.ts';
import { freePort } from '../sync/remote-process.ts';
import { BIN, imprint, ROOT, tempDir } from './fault-harness.ts';

const dirs: string[] = [];
const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Every path under `root` with its permission bits and whether it is a folder. */
function modes(root: string): Map<string, { mode: number; dir: boolean }> {
  const out = new Map<string, { mode: number; dir: boolean }>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(p);
      } catch {
        continue; // a -journal or temp file gone between the listing and the stat
      }
      out.set(p.slice(root.length + 1), { mode: st.mode & 0o777, dir: st.isDirectory() });
      if (st.isDirectory()) walk(p);
    }
  };
  out.set('.', { mode: statSync(root).mode & 0o777, dir: true });
  walk(root);
  return out;
}

function assertPrivate(found: Map<string, { mode: number; dir: boolean }>, where: string): void {
  const loose = [...found].filter(([, f]) => f.mode !== (f.dir ? 0o700 : 0o600));
  assert.deepEqual(
    loose.map(([p, f]) => `${p} ${f.mode.toString(8)}`),
    [],
    `everything under ${where} is 0700 (folders) / 0600 (files)`,
  );
}

/** Start `imprint …` and resolve once stderr/stdout shows `ready`. */
function startUntil(args: string[], ready: RegExp): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, IMPRINT_LOG_LEVEL: 'warn' },
  });
  children.add(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const seen = (d: Buffer) => {
      out += d;
      if (ready.test(out)) resolve(child);
    };
    child.stdout?.on('data', seen);
    child.stderr?.on('data', seen);
    child.once('exit', (code) => reject(new Error(`imprint ${args.join(' ')} exited ${code}: ${out}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await exited;
  children.delete(child);
}

test('a station run, its recovery, its settings and a pairing core leave only 0700 folders and 0600 files', async () => {
  const station = tempDir('imprint-private-station-');
  const core = tempDir('imprint-private-core-');
  dirs.push(station, core);

  // A station with every store: an offline-fallback policy (sync.db) towards a core that is down.
  const down = `http://127.0.0.1:${await freePort()}`;
  // The station learnt earlier that this core imports offline registrations (else it refuses the fallback).
  writeFileSync(
    join(station, 'station.json'),
    JSON.stringify({
      pairing: {
        mode: 'remote-with-offline-fallback',
        url: down,
        capabilities: { url: down, realm: 'imprint', offlineImports: true, probedAt: new Date().toISOString() },
      },
    }),
    { mode: 0o600 },
  );
  const run = await startUntil(
    [
      'station',
      'run',
      '--simulate',
      '1',
      '--in-process',
      '--pairing',
      down,
      '--policy',
      'remote-with-offline-fallback',
      '--agent-token',
      'x.y.z',
      '--batch',
      'WO-P',
      '--data',
      station,
    ],
    /done,/,
  );
  // While it runs, the databases' -wal and -shm files exist too.
  const running = modes(station);
  await stop(run);
  assert.ok(
    [...running.keys()].some((p) => p.endsWith('-wal')),
    [...running.keys()].join(', '),
  );
  assertPrivate(running, station);
  // Settings saved and an agent token stored (what Settings does), and the admin PIN made.
  saveStationConfig(join(station, 'station.json'), { ...defaultStationConfig(), simulatedFixtures: 1 });
  await new FileSecretStore(join(station, 'secrets.json')).set('agentToken', 'x.y.z');
  const pin = await imprint(['admin-pin', '--reset', '--data', station]);
  assert.equal(pin.code, 0, pin.stderr);
  const close = await imprint(['batch', 'close', '--data', station]); // signs with the station's key
  assert.equal(close.code, 0, close.stderr);
  const after = modes(station);
  for (const f of [
    'station.db',
    'station.key',
    'audit.db',
    'audit-signing-key.pem',
    'pairing.sqlite',
    'sync.db',
    'ca',
    'station.json',
    'secrets.json',
    'admin-pin.json',
  ]) {
    assert.ok(after.has(f), `${f} exists (${[...after.keys()].join(', ')})`);
  }
  assertPrivate(after, station);

  const serve = await startUntil(['pairing', 'serve', '--data', core, '--port', String(await freePort())], /listening on/);
  const served = modes(core);
  await stop(serve);
  assert.ok(served.has('pairing.sqlite') && served.has('ca'), [...served.keys()].join(', '));
  assertPrivate(served, core);
});

test('a data folder left open by an older version (0755, a 0644 database) is tightened, and the log says so once', async () => {
  const data = tempDir('imprint-private-old-');
  dirs.push(data);
  chmodSync(data, 0o755);
  mkdirSync(join(data, 'simulated'), { mode: 0o755 });
  chmodSync(join(data, 'simulated'), 0o755);
  writeFileSync(join(data, 'station.db'), '', { mode: 0o644 });
  chmodSync(join(data, 'station.db'), 0o644);
  const r = await imprint(['station', 'run', '--simulate', '1', '--count', '1', '--in-process', '--data', data], {
    env: { IMPRINT_LOG_LEVEL: 'warn' },
  });
  assert.equal(r.code, 0, r.stderr);
  assertPrivate(modes(data), data);
  const told = r.stderr.split('\n').filter((l) => l.includes('permissions tightened'));
  assert.deepEqual(
    told.map((l) => JSON.parse(l).path).sort(),
    [data, join(data, 'simulated'), join(data, 'station.db')].sort(),
    'each loosened path told once',
  );
  const again = await imprint(['station', 'run', '--simulate', '1', '--count', '1', '--in-process', '--data', data], {
    env: { IMPRINT_LOG_LEVEL: 'warn' },
  });
  assert.doesNotMatch(again.stderr, /permissions tightened/, 'nothing left to tighten');
});
