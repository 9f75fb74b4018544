// astartectl's commands under `imprint`, run as a user would (the real CLI), against an embedded data
// directory and against a remote core over HTTP; and the bash completion generated from the command tree.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from './server-fixture.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const DEVICE = 'AJInS0w3VpWpuOqkXhgZdA';

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, encoding: 'utf8', timeout: 60_000 }, (e, stdout, stderr) =>
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, out: stdout, err: stderr }),
    );
  });
}

describe('astartectl-style commands', () => {
  let dir: string;
  let s: TestServer;
  const imprint = (...args: string[]) => run(process.execPath, [join(ROOT, 'bin/imprint.mjs'), ...args], dir);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'imprint-actl-'));
    s = await startTestServer();
  });
  after(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('utils device-id: compute-from-string, generate-random, validate, to-uuid / from-uuid', async () => {
    const c = await imprint(
      'utils',
      'device-id',
      'compute-from-string',
      'f79ad91f-c638-4889-ae74-9d001a3b4cf8',
      'myidentifierdata',
    );
    assert.equal(c.out.trim(), DEVICE);
    const r = await imprint('utils', 'device-id', 'generate-random');
    assert.match(r.out.trim(), /^[A-Za-z0-9_-]{22}$/);
    // A random id starts with '-' one time in 64: after `--` it is an argument, not an option.
    assert.equal((await imprint('utils', 'device-id', 'validate', '--', r.out.trim())).out.trim(), 'Valid');
    assert.equal((await imprint('utils', 'device-id', 'validate', '--', '-JInS0w3VpWpuOqkXhgZdA')).out.trim(), 'Valid');
    assert.equal((await imprint('utils', 'device-id', 'validate', 'nope')).code, 1);
    const uuid = (await imprint('utils', 'device-id', 'to-uuid', DEVICE)).out.trim();
    assert.equal((await imprint('utils', 'device-id', 'from-uuid', uuid)).out.trim(), DEVICE);
  });

  test('utils gen-keypair and pairing agent register/unregister on an embedded data directory', async () => {
    const g = await imprint('utils', 'gen-keypair', 'plant');
    assert.equal(g.code, 0, g.err);
    assert.equal(statSync(join(dir, 'plant_private.pem')).mode & 0o777, 0o600);
    assert.match(readFileSync(join(dir, 'plant_private.pem'), 'utf8'), /BEGIN EC PRIVATE KEY/);
    assert.equal(
      (await imprint('pairing', 'realm', 'create', 'plant', '--public-key', 'plant_public.pem', '--data', 'd')).code,
      0,
    );
    const reg = await imprint(
      ...['pairing', 'agent', 'register', DEVICE, '-r', 'plant', '--compact-output', '--data', 'd'],
      ...['--initial-introspection', 'org.example.Sensor:1:2'],
    );
    assert.equal(reg.code, 0, reg.err);
    assert.match(reg.out, /^[A-Za-z0-9+/]{43}=\n$/); // only the secret
    const un = await imprint('pairing', 'agent', 'unregister', DEVICE, '-r', 'plant', '-y', '--data', 'd');
    assert.equal(un.out, `Will unregister device ${DEVICE} from realm plant.\nok\n`);
    const bad = await imprint('pairing', 'agent', 'register', 'not-an-id', '-r', 'plant', '--data', 'd');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /invalid device id/);
  });

  test('against a remote core: -k signs the token, -t uses one made by utils gen-jwt, --to-curl prints the call', async () => {
    writeFileSync(join(dir, 'realm.pem'), s.t.agentKeys.privateKeyPem, { mode: 0o600 });
    const reg = await imprint('pairing', 'agent', 'register', DEVICE, '-r', s.realm, '--pairing-url', s.base, '-k', 'realm.pem');
    assert.equal(reg.code, 0, reg.err);
    assert.match(
      reg.out,
      new RegExp(
        `Device ${DEVICE} successfully registered in Realm ${s.realm}\\.\\nThe Device's Credentials Secret is "[^"]{44}"\\.`,
      ),
    );
    const jwt = await imprint('utils', 'gen-jwt', 'pairing', '-k', 'realm.pem', '-c', 'DELETE::agent/devices/.*', '-e', '60');
    assert.equal(jwt.code, 0, jwt.err);
    const token = jwt.out.trim();
    const claims = JSON.parse((await imprint('utils', 'show-jwt-claims', token)).out);
    assert.deepEqual(claims.a_pa, ['DELETE::agent/devices/.*']);
    assert.equal(claims.exp - claims.iat, 60);
    const un = await imprint('pairing', 'agent', 'unregister', DEVICE, '-r', s.realm, '--pairing-url', s.base, '-t', token, '-y');
    assert.equal(un.code, 0, un.err);
    assert.equal((await s.t.core.showDevice(s.realm, DEVICE)).registered, false);
    // The token allows DELETE only: the server refuses a registration with it, naming the path.
    const refused = await imprint('pairing', 'agent', 'register', DEVICE, '-r', s.realm, '--pairing-url', s.base, '-t', token);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /Unauthorized access to POST \/v1\/test\/agent\/devices/);
    const curl = await imprint(
      'pairing',
      'agent',
      'register',
      DEVICE,
      '-r',
      s.realm,
      '--pairing-url',
      s.base,
      '-t',
      'T',
      '--to-curl',
    );
    assert.equal(
      curl.out.trim(),
      `curl -X POST '${s.base}/v1/${s.realm}/agent/devices' -H 'Authorization: Bearer T' -H 'Content-Type: application/json' -d '{"data":{"hw_id":"${DEVICE}"}}'`,
    );
    const badScope = await imprint('utils', 'gen-jwt', 'pairing', '-k', 'realm.pem', '-c', '(::x');
    assert.equal(badScope.code, 2);
  });

  test('bash completion is generated from the command tree', async () => {
    const script = (await imprint('completion', 'bash')).out;
    writeFileSync(join(dir, 'c.sh'), script);
    const complete = (words: string[]) =>
      run(
        'bash',
        [
          '-c',
          `source ./c.sh; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _imprint_complete; echo "\${COMPREPLY[*]}"`,
        ],
        dir,
      );
    assert.equal((await complete(['imprint', 'pairing', 'ag'])).out.trim(), 'agent');
    assert.equal((await complete(['imprint', 'pairing', 'agent', 'register', DEVICE, '--comp'])).out.trim(), '--compact-output');
    assert.match((await complete(['imprint', 'utils', 'device-id', ''])).out, /compute-from-string/);
    const zsh = (await imprint('completion', 'zsh')).out;
    assert.match(zsh, /^#compdef imprint\n/);
    assert.match(zsh, /bashcompinit/);
    assert.equal((await imprint('completion', 'fish')).code, 2);
  });
});
