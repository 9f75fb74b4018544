// With no --data and no IMPRINT_DATA, data goes to the platform's application data directory, and a
// user with a ./.data from before is told how to keep using it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { platformDataDir } from '../../src/cli/data-dir.ts';

const BIN = fileURLToPath(new URL('../../bin/imprint.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'imprint-datadir-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the default is XDG_DATA_HOME/imprint on Linux, ~/.local/share/imprint without it, native elsewhere', () => {
  assert.equal(platformDataDir({ XDG_DATA_HOME: '/srv/xdg' }, 'linux'), '/srv/xdg/imprint');
  assert.equal(platformDataDir({}, 'linux'), join(homedir(), '.local/share/imprint'));
  assert.equal(platformDataDir({ XDG_DATA_HOME: 'relative' }, 'linux'), join(homedir(), '.local/share/imprint'));
  assert.equal(
    platformDataDir({ APPDATA: 'C:\\Users\\op\\AppData\\Roaming' }, 'win32'),
    join('C:\\Users\\op\\AppData\\Roaming', 'Imprint'),
  );
  assert.equal(platformDataDir({}, 'darwin'), join(homedir(), 'Library/Application Support/Imprint'));
});

test('a command run without --data uses the platform directory, not the working directory, and names an old ./.data', () => {
  const work = join(dir, 'work');
  mkdirSync(join(work, '.data'), { recursive: true });
  const xdg = join(dir, 'xdg');
  const env = { ...process.env, XDG_DATA_HOME: xdg, IMPRINT_DATA: '' };
  const r = spawnSync(process.execPath, [BIN, 'station', 'status', '--json'], { cwd: work, env, encoding: 'utf8' });
  assert.match(r.stderr, /found .*\.data from an earlier version; data now lives in .*xdg\/imprint/);
  assert.match(r.stderr, /--data .*\.data|IMPRINT_DATA=/);
  mkdirSync(join(xdg, 'imprint'), { recursive: true });
  const again = spawnSync(process.execPath, [BIN, 'station', 'status', '--json'], { cwd: work, env, encoding: 'utf8' });
  assert.doesNotMatch(again.stderr, /earlier version/, 'once the new folder exists the notice stops');
});
