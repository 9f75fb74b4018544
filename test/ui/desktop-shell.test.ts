// The desktop shell's own rules, without an Electron binary (electron/ code runs with `electron`
// stubbed): where the station's data goes, kiosk mode, how the core is started installed or from
// a checkout, a core that dies being restarted while the page keeps one StationApi, and agent
// tokens refused when Linux has no real keychain.
import '../security/electron-stub-hook.ts';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, mock, test } from 'node:test';
import type { StationApi, StationEvent, StationStatus } from '../../src/api/station-api.ts';

type Supervisor = typeof import('../../electron/core-supervisor.ts');
type Secrets = typeof import('../../electron/secret-bridge.ts');
type Stub = typeof import('../security/electron-stub.ts');

const { coreCommand, shellOptions } = await import('../../electron/shell-options.ts');
const { CoreSupervisor, defaultRestartDelay }: Supervisor = await import('../../electron/core-supervisor.ts');
const secrets: Secrets = await import('../../electron/secret-bridge.ts');
const stub: Stub = await import('../security/electron-stub.ts');

describe('desktop shell options', () => {
  test('data in a folder of its own under userData, unless --data or IMPRINT_DATA names one', () => {
    const userData = '/home/op/.config/Imprint';
    assert.equal(shellOptions(['electron', 'main.cjs'], {}, userData).dataDir, '/home/op/.config/Imprint/station');
    assert.equal(shellOptions(['electron', 'main.cjs'], { IMPRINT_DATA: '/srv/imprint' }, userData).dataDir, '/srv/imprint');
    assert.equal(
      shellOptions(['electron', 'main.cjs', '--data', '/mnt/line1'], { IMPRINT_DATA: '/x' }, userData).dataDir,
      '/mnt/line1',
    );
    assert.equal(shellOptions(['electron', 'main.cjs', '--data=/mnt/line2'], {}, userData).dataDir, '/mnt/line2');
  });

  test('kiosk mode from --kiosk or IMPRINT_KIOSK, off by default', () => {
    assert.equal(shellOptions(['e'], {}, '/u').kiosk, false);
    assert.equal(shellOptions(['e', '--kiosk'], {}, '/u').kiosk, true);
    assert.equal(shellOptions(['e'], { IMPRINT_KIOSK: '1' }, '/u').kiosk, true);
    assert.equal(shellOptions(['e'], { IMPRINT_KIOSK: '0' }, '/u').kiosk, false);
  });

  test('installed, the core runs on Electron in Node mode from the unpacked files; from a checkout on Node', () => {
    const options = shellOptions(['e', '--simulate', '4'], {}, '/u');
    const installed = coreCommand({
      packaged: true,
      execPath: '/opt/Imprint/imprint',
      root: '/opt/Imprint/resources/app.asar',
      options,
      env: { PATH: '/usr/bin' },
    });
    assert.equal(installed.command, '/opt/Imprint/imprint');
    assert.equal(installed.env.ELECTRON_RUN_AS_NODE, '1');
    assert.deepEqual(installed.args, [
      '/opt/Imprint/resources/app.asar.unpacked/bin/imprint.mjs',
      'web',
      '--port',
      '0',
      '--electron-child',
      '--data',
      '/u/station',
      '--simulate',
      '4',
    ]);
    const checkout = coreCommand({
      packaged: false,
      execPath: '/x/electron',
      root: '/repo',
      options,
      env: { IMPRINT_NODE: '/usr/bin/node20' },
    });
    assert.equal(checkout.command, '/usr/bin/node20');
    assert.equal(checkout.args[0], '/repo/bin/imprint.mjs');
    assert.equal(checkout.env.ELECTRON_RUN_AS_NODE, undefined);
  });
});

/** A core child: an IPC channel the test speaks for, and an exit the test triggers. */
class FakeCore extends EventEmitter {
  killed?: string;
  send() {
    return true;
  }
  kill(signal: string) {
    this.killed = signal;
    return true;
  }
  ready(n: number) {
    this.emit('message', { type: 'ready', url: `http://127.0.0.1:${4000 + n}`, token: `t${n}` });
  }
  die(code: number) {
    this.emit('exit', code, null);
  }
}

/** A client per core: answers getStatus with its port, and lets the test push events. */
function fakeClient(url: string) {
  const listeners = new Set<(e: StationEvent) => void>();
  const api = {
    getStatus: async () => ({ stationId: url }) as unknown as StationStatus,
    subscribe(l: (e: StationEvent) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  } as unknown as StationApi;
  return { api, listeners };
}

describe('the station core, supervised', () => {
  test('restart delays: 1 s doubling to 10 s', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 9].map(defaultRestartDelay), [1000, 2000, 4000, 8000, 10000, 10000]);
  });

  test('a core that dies is reported, restarted after its delay, and the page keeps one API and its subscription', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const cores: FakeCore[] = [];
      const clients = new Map<string, ReturnType<typeof fakeClient>>();
      const log: string[] = [];
      const sup = new CoreSupervisor({
        spawn: () => {
          const c = new FakeCore();
          cores.push(c);
          return c as never;
        },
        connect: ({ url }) => {
          const c = fakeClient(url);
          clients.set(url, c);
          return c.api;
        },
        log: (l) => log.push(l),
      });
      const events: StationEvent[] = [];
      sup.api.subscribe((e) => events.push(e));

      await assert.rejects(sup.api.getStatus(), { code: 'STATION_OFFLINE', message: 'The station is starting.' });
      sup.start();
      cores[0].ready(1);
      assert.equal((await sup.api.getStatus()).stationId, 'http://127.0.0.1:4001');
      const counters = { type: 'counters', counters: { done: 1 } } as unknown as StationEvent;
      for (const l of clients.get('http://127.0.0.1:4001')?.listeners ?? []) l(counters);
      assert.deepEqual(events, [counters]);

      cores[0].die(6);
      await assert.rejects(sup.api.getStatus(), (e: Error & { code: string }) => {
        assert.equal(e.code, 'STATION_OFFLINE');
        assert.match(e.message, /exited \(code 6\).*Restarting it \(try 1\)/);
        return true;
      });
      assert.equal(clients.get('http://127.0.0.1:4001')?.listeners.size, 0, 'the dead core has no subscriber left');
      assert.match(log.join('\n'), /Restarting it in 1 s/);
      mock.timers.tick(999);
      assert.equal(cores.length, 1, 'not before its delay');
      mock.timers.tick(1);
      assert.equal(cores.length, 2, 'a new core is started');
      cores[1].ready(2);
      assert.equal((await sup.api.getStatus()).stationId, 'http://127.0.0.1:4002');
      for (const l of clients.get('http://127.0.0.1:4002')?.listeners ?? []) l(counters);
      assert.equal(events.length, 2, 'the same subscription hears the new core');

      cores[1].die(1);
      mock.timers.tick(2000);
      assert.equal(cores.length, 3, 'the second restart in a row waits 2 s');
      sup.stop();
      assert.equal(cores[2].killed, 'SIGTERM');
      cores[2].die(0);
      mock.timers.tick(60_000);
      assert.equal(cores.length, 3, 'no restart after quit');
    } finally {
      mock.timers.reset();
    }
  });
});

describe('agent tokens in the OS keychain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-keychain-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const ask = (file: string, req: Record<string, unknown>, platform: NodeJS.Platform = 'linux') => {
    const replies: Record<string, unknown>[] = [];
    secrets.answerSecretRequest(
      { send: (m: Record<string, unknown>) => replies.push(m) === 0 } as never,
      file,
      { type: 'secret', id: 1, ...req } as never,
      stub.safeStorage as never,
      platform,
    );
    return replies[0];
  };

  test("Linux's basic_text fallback is refused with what to do, and nothing is written", () => {
    const file = join(dir, 'refused.json');
    for (const backend of ['basic_text', 'unknown']) {
      stub.keychain.available = true;
      stub.keychain.backend = backend;
      const reply = ask(file, { op: 'set', name: 'agentToken', value: 'eyJ.secret.token' });
      assert.equal(reply.ok, false);
      assert.match(String(reply.error), new RegExp(`no keychain \\(Electron's safeStorage would use "${backend}"`));
      assert.match(String(reply.error), /GNOME Keyring|KWallet/);
      assert.equal(existsSync(file), false, 'the token was not kept');
    }
    // Asking for a token that was never stored needs no keychain (a station in embedded mode starts).
    assert.deepEqual(ask(file, { op: 'get', name: 'agentToken' }), { type: 'secret-reply', id: 1, ok: true, value: undefined });
  });

  test('no keychain at all is refused too; a real one keeps only ciphertext and gives the token back', () => {
    const file = join(dir, 'sealed.json');
    stub.keychain.available = false;
    assert.match(String(ask(file, { op: 'set', name: 'agentToken', value: 'x' }, 'win32').error), /keychain is not available/);
    stub.keychain.available = true;
    stub.keychain.backend = 'gnome_libsecret';
    assert.equal(ask(file, { op: 'set', name: 'agentToken', value: 'eyJ.secret.token' }).ok, true);
    assert.ok(!readFileSync(file, 'utf8').includes('eyJ.secret.token'), 'no token in clear on disk');
    assert.equal(ask(file, { op: 'get', name: 'agentToken' }).value, 'eyJ.secret.token');
    // Windows and macOS keychains have no fallback to refuse.
    stub.keychain.backend = 'basic_text';
    assert.equal(ask(file, { op: 'get', name: 'agentToken' }, 'win32').value, 'eyJ.secret.token');
    assert.equal(ask(file, { op: 'get', name: 'agentToken' }).ok, false, 'on Linux a later fallback cannot read it either');
  });
});
