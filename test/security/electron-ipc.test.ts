// The desktop shell's IPC, checked without Electron (no binary can be installed here): the
// `electron` module is replaced by a recorder (electron-stub.ts), the real electron/main.ts is
// loaded, and every handler it registers is enumerated. Each channel must be allow-listed, each
// handler must refuse a sender that is not our window's top frame on our page, before the station
// API is touched; the preload must use allow-listed channels only.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import type { StationApi, StationEvent } from '../../src/api/station-api.ts';
// `electron` resolves to the stub for everything imported from here on (imports below are dynamic).
import { STUB_URL } from './electron-stub-hook.ts';

type Stub = typeof import('./electron-stub.ts');
type Channels = typeof import('../../electron/ipc-channels.ts');
type Guard = typeof import('../../electron/ipc-guard.ts');
type StationIpc = typeof import('../../electron/station-ipc.ts');

const ELECTRON_DIR = join(import.meta.dirname, '..', '..', 'electron');
const PAGE = 'file:///opt/imprint/renderer/dist/index.html';
const PENDING = Symbol('pending');

interface FakeContents {
  sent: unknown[][];
  destroyed: boolean;
  isDestroyed(): boolean;
  send(...args: unknown[]): void;
  once(): void;
}

function fakeContents(): FakeContents {
  return {
    sent: [],
    destroyed: false,
    isDestroyed() {
      return this.destroyed;
    },
    send(...args: unknown[]) {
      this.sent.push(args);
    },
    once() {},
  };
}

const topFrame = (url: string) => ({ url, parent: null });
const subFrame = (url: string) => ({ url, parent: topFrame(PAGE) });

/** The ways a message can come from somewhere other than our page in our window. */
function foreignEvents(ours: FakeContents): [string, { sender: FakeContents; senderFrame: unknown }][] {
  const other = fakeContents();
  return [
    ['another web contents showing the same page', { sender: other, senderFrame: topFrame(PAGE) }],
    ['a subframe of our window', { sender: ours, senderFrame: subFrame(PAGE) }],
    ['a subframe on another site', { sender: ours, senderFrame: subFrame('https://evil.example/') }],
    ['our window navigated to a web page', { sender: ours, senderFrame: topFrame('https://evil.example/') }],
    ['our window on another local file', { sender: ours, senderFrame: topFrame('file:///tmp/evil.html') }],
    ['our page with a query', { sender: ours, senderFrame: topFrame(`${PAGE}?x=1`) }],
    ['a frame already gone', { sender: ours, senderFrame: null }],
  ];
}

/** A handler's answer, or PENDING if it did not settle within the current turn (it waited on something). */
async function answerOf(handler: (...a: unknown[]) => unknown, ...args: unknown[]): Promise<unknown> {
  return Promise.race([Promise.resolve(handler(...args)), new Promise((r) => setImmediate(() => r(PENDING)))]);
}

/** A StationApi whose every call is logged; subscribe hands back the listener. */
function recordingApi(calls: string[], listeners: ((e: StationEvent) => void)[]): StationApi {
  return new Proxy({} as StationApi, {
    get(_t, key) {
      if (key === 'then') return undefined; // not a promise itself
      return (...args: unknown[]) => {
        calls.push(String(key));
        if (key === 'subscribe') {
          listeners.push(args[0] as (e: StationEvent) => void);
          return () => {};
        }
        return Promise.resolve({ called: String(key) });
      };
    },
  });
}

describe('Electron IPC: allow-listed channels, senders checked', () => {
  let stub: Stub;
  let channels: Channels;
  let guard: Guard;
  let stationIpc: StationIpc;

  before(async () => {
    stub = (await import(STUB_URL)) as Stub;
    channels = await import('../../electron/ipc-channels.ts');
    guard = await import('../../electron/ipc-guard.ts');
    stationIpc = await import('../../electron/station-ipc.ts');
  });

  test('main registers a handler for exactly the allow-listed channels, each refusing every sender while no window exists', async () => {
    stub.registered.length = 0;
    await import('../../electron/main.ts');
    const seen = stub.registered.map((r) => `${r.via} ${r.channel}`).sort();
    const expected = Object.entries(channels.IPC_CHANNELS)
      .map(([channel, kind]) => `${kind === 'invoke' ? 'handle' : 'on'} ${channel}`)
      .sort();
    assert.deepEqual(seen, expected, 'one guarded handler per allow-listed channel, nothing else');
    for (const r of stub.registered) {
      for (const [why, event] of [
        ...foreignEvents(fakeContents()),
        ['a trusted-looking frame', { sender: fakeContents(), senderFrame: topFrame(PAGE) }] as const,
      ]) {
        const answer = await answerOf(r.handler, event, 'getStatus', []);
        if (r.via === 'handle') assert.deepEqual(answer, guard.REFUSED, `${r.channel} refuses ${why} at once`);
        else assert.equal(answer, undefined, `${r.channel} ignores ${why}`);
        assert.deepEqual((event.sender as FakeContents).sent, [], `${r.channel} sends nothing to ${why}`);
      }
    }
  });

  test('main takes the single-instance lock; a second instance exits without a window or a core', async () => {
    assert.ok(stub.appCalls.includes('requestSingleInstanceLock'), 'the first instance asked for the lock');
    assert.ok(stub.appCalls.includes('on second-instance'), 'and brings its window forward when another starts');
    stub.appCalls.length = 0;
    stub.lock.granted = false;
    try {
      // A fresh copy of main.ts, as a second process would load it (a query makes a new module).
      const secondCopy = new URL('../../electron/main.ts?second-instance', import.meta.url).href;
      await import(secondCopy);
    } finally {
      stub.lock.granted = true;
    }
    assert.deepEqual(
      stub.appCalls.filter((c) => c === 'requestSingleInstanceLock' || c.startsWith('exit') || c === 'on second-instance'),
      ['requestSingleInstanceLock', 'exit 0'],
    );
  });

  test('every station IPC handler refuses a foreign sender before touching the station API, and serves our page', async () => {
    stub.registered.length = 0;
    const calls: string[] = [];
    const listeners: ((e: StationEvent) => void)[] = [];
    const ours = fakeContents();
    const win = { webContents: ours, destroyed: false, isDestroyed: () => win.destroyed };
    let current: typeof win | undefined = win;
    const trusted = guard.fromPage(() => current as never, PAGE);
    stationIpc.wireStationIpc(Promise.resolve(recordingApi(calls, listeners)), trusted);
    assert.ok(stub.registered.length >= 2);

    for (const r of stub.registered) {
      for (const [why, event] of foreignEvents(ours)) {
        const answer = await answerOf(r.handler, event, 'start', []);
        if (r.via === 'handle') assert.deepEqual(answer, guard.REFUSED, `${r.channel} refuses ${why}`);
      }
      const ok = { sender: ours, senderFrame: topFrame(`${PAGE}#/operator`) };
      win.destroyed = true;
      await answerOf(r.handler, ok, 'start', []);
      win.destroyed = false;
      current = undefined;
      await answerOf(r.handler, ok, 'start', []);
      current = win;
    }
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, [], 'no foreign message reached the station API');
    assert.deepEqual(ours.sent, [], 'nothing was sent back to a foreign sender');

    const ok = { sender: ours, senderFrame: topFrame(`${PAGE}#/operator`) };
    const invoke = stub.registered.find((r) => r.channel === channels.INVOKE_CHANNEL);
    const subscribe = stub.registered.find((r) => r.channel === channels.SUBSCRIBE_CHANNEL);
    assert.ok(invoke && subscribe);
    assert.deepEqual(await invoke.handler(ok, 'getStatus', []), { ok: true, value: { called: 'getStatus' } });
    assert.deepEqual(await invoke.handler(ok, 'constructor', []), guard.REFUSED, 'only StationApi methods');
    assert.deepEqual(await invoke.handler(ok, 'getStatus', 'not-an-array'), guard.REFUSED);
    subscribe.handler(ok);
    await new Promise((r) => setImmediate(r));
    assert.equal(listeners.length, 1);
    listeners[0]({ type: 'counters', counters: { done: 1, passed: 1, failed: 0, devicesPerHour: 1, since: 'now' } });
    assert.equal(ours.sent.length, 1);
    assert.equal(ours.sent[0][0], channels.EVENT_CHANNEL);
    assert.deepEqual(calls, ['getStatus', 'subscribe']);
  });

  test('a handler cannot be registered on a channel that is not allow-listed, or for the wrong kind', () => {
    const anyChannel = (c: string) => c as never;
    assert.throws(
      () =>
        guard.handleFromTrusted(
          anyChannel('imprint:eval'),
          () => true,
          async () => guard.REFUSED,
        ),
      /not allow-listed/,
    );
    assert.throws(
      () =>
        guard.onFromTrusted(
          anyChannel(channels.INVOKE_CHANNEL),
          () => true,
          () => {},
        ),
      /not allow-listed/,
    );
    assert.throws(
      () =>
        guard.onFromTrusted(
          anyChannel(channels.EVENT_CHANNEL),
          () => true,
          () => {},
        ),
      /not allow-listed/,
    );
  });

  test('the preload exposes the station API only, over allow-listed channels only', async () => {
    await import('../../electron/preload.ts');
    const api = stub.exposed.get('imprint') as Record<string, (...a: unknown[]) => unknown>;
    assert.deepEqual([...stub.exposed.keys()], ['imprint'], 'one object on window');
    assert.deepEqual(Object.keys(api).sort(), [...channels.STATION_METHODS, 'subscribe'].sort());
    for (const method of channels.STATION_METHODS) await api[method]();
    api.subscribe(() => {});
    const allowed = new Set([...Object.keys(channels.IPC_CHANNELS), channels.EVENT_CHANNEL]);
    for (const use of stub.rendererUse) assert.ok(allowed.has(use.channel), `${use.via} ${use.channel} is allow-listed`);
    const listened = stub.rendererUse.filter((u) => u.via === 'on').map((u) => u.channel);
    assert.deepEqual(listened, [channels.EVENT_CHANNEL], 'the page only listens to station events');
  });

  test('nothing in electron/ reaches ipcMain except through the guard', () => {
    for (const file of readdirSync(ELECTRON_DIR).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(ELECTRON_DIR, file), 'utf8');
      if (file !== 'ipc-guard.ts') assert.doesNotMatch(source, /\bipcMain\b/, `${file} does not use ipcMain directly`);
      assert.doesNotMatch(
        source,
        /\.ipc\.(handle|on|once)\b|MessageChannelMain|utilityProcess/,
        `${file} opens no other IPC path`,
      );
    }
  });
});
