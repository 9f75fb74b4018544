// A stand-in for the `electron` module, which cannot run here (no Electron binary): it records
// every IPC handler main registers and every channel the preload uses, and keeps the app from
// ever becoming ready. electron-ipc.test.ts resolves `electron` to this file.
import { tmpdir } from 'node:os';

type Fn = (...args: unknown[]) => unknown;

export interface Registration {
  via: 'handle' | 'handleOnce' | 'on' | 'once' | 'addListener' | 'prependListener' | 'prependOnceListener';
  channel: string;
  handler: Fn;
}

/** Everything registered on ipcMain, in order. */
export const registered: Registration[] = [];
/** Channels the preload used, and how. */
export const rendererUse: { via: string; channel: string }[] = [];
/** What the preload exposed to the page. */
export const exposed = new Map<string, unknown>();

const record = (via: Registration['via']) => (channel: string, handler: Fn) => {
  registered.push({ via, channel, handler });
  return ipcMain;
};

export const ipcMain = {
  handle: record('handle'),
  handleOnce: record('handleOnce'),
  on: record('on'),
  once: record('once'),
  addListener: record('addListener'),
  prependListener: record('prependListener'),
  prependOnceListener: record('prependOnceListener'),
  removeHandler() {},
  removeListener() {
    return ipcMain;
  },
};

export const ipcRenderer = {
  invoke(channel: string) {
    rendererUse.push({ via: 'invoke', channel });
    return Promise.resolve({ ok: true, value: null });
  },
  send(channel: string) {
    rendererUse.push({ via: 'send', channel });
  },
  on(channel: string) {
    rendererUse.push({ via: 'on', channel });
    return ipcRenderer;
  },
  removeListener() {
    return ipcRenderer;
  },
};

export const contextBridge = {
  exposeInMainWorld(key: string, api: unknown) {
    exposed.set(key, api);
  },
};

/** What main asked of the app: the single-instance lock, exits. */
export const appCalls: string[] = [];
/** Whether the next requestSingleInstanceLock() gets the lock (false: another instance runs). */
export const lock = { granted: true };

export const app = {
  isPackaged: false,
  requestSingleInstanceLock() {
    appCalls.push('requestSingleInstanceLock');
    return lock.granted;
  },
  on(event: string) {
    appCalls.push(`on ${event}`);
    return app;
  },
  once() {
    return app;
  },
  /** Never ready: no core child is started, no window opens. */
  whenReady: () => new Promise<void>(() => {}),
  isReady: () => false,
  exit(code?: number) {
    appCalls.push(`exit ${code ?? 0}`);
  },
  quit() {},
  getPath: () => tmpdir(),
};

export class BrowserWindow {
  static getAllWindows(): BrowserWindow[] {
    return [];
  }
}

export const session = { defaultSession: { setPermissionRequestHandler() {} } };

/** A keychain whose backend the test chooses; "encryption" reverses the bytes (never plain text on disk). */
export const keychain = { available: false, backend: 'basic_text' as string };

export const safeStorage = {
  isEncryptionAvailable: () => keychain.available,
  getSelectedStorageBackend: () => keychain.backend,
  encryptString: (s: string) => Buffer.from(s).reverse(),
  decryptString: (b: Buffer) => Buffer.from(b).reverse().toString(),
};
