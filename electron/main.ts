// The Electron shell: one window, the preload bridge, IPC wiring and the OS keychain. No UI logic
// and no station logic here: the station core runs as a Node child (its native modules are built
// for Node, not Electron) serving the station API on 127.0.0.1; this process relays it over IPC.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, BrowserWindow, type IpcMainEvent, type IpcMainInvokeEvent, ipcMain, session } from 'electron';
import { HttpStationClient } from '../src/api/http-station-client.ts';
import { openFetchEventStream } from '../src/api/sse-reader.ts';
import type { StationApi } from '../src/api/station-api.ts';
import { EVENT_CHANNEL, INVOKE_CHANNEL, isStationMethod, SUBSCRIBE_CHANNEL } from './ipc-channels.ts';
import { answerSecretRequest, isSecretRequest } from './secret-bridge.ts';

// Bundled to dist/electron/main.cjs: the repository root is two levels up.
const ROOT = join(__dirname, '..', '..');
process.umask(0o077); // the station data and the sealed secrets file are private (0700 / 0600)
const INDEX_HTML = join(ROOT, 'renderer', 'dist', 'index.html');
const INDEX_URL = pathToFileURL(INDEX_HTML).href;

let core: ChildProcess | undefined;
let mainWindow: BrowserWindow | undefined;

/** Start the core child (`imprint web --electron-child`) and wait for its URL and session token. */
function startCore(): Promise<{ url: string; token: string }> {
  const node = process.env.IMPRINT_NODE || 'node';
  const args = [join(ROOT, 'bin', 'imprint.mjs'), 'web', '--port', '0', '--electron-child'];
  if (process.env.IMPRINT_DATA) args.push('--data', process.env.IMPRINT_DATA);
  if (process.env.IMPRINT_SIMULATE) args.push('--simulate', process.env.IMPRINT_SIMULATE);
  const child = spawn(node, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
  core = child;
  const secretsFile = join(app.getPath('userData'), 'secrets.sealed.json');
  return new Promise((resolve, reject) => {
    child.on('message', (m: unknown) => {
      const msg = m as { type?: string; url?: string; token?: string };
      if (msg.type === 'ready' && msg.url && msg.token) resolve({ url: msg.url, token: msg.token });
      else if (isSecretRequest(m)) answerSecretRequest(child, secretsFile, m);
    });
    child.on('exit', (code) => {
      reject(new Error(`the station core exited (code ${code})`));
      if (!app.isReady() || BrowserWindow.getAllWindows().length > 0) app.exit(code ?? 1);
    });
  });
}

/** Only our own page in our own window may call the station. */
function trusted(event: IpcMainInvokeEvent | IpcMainEvent): boolean {
  const frameUrl = event.senderFrame?.url.split('#')[0];
  return !!mainWindow && event.sender === mainWindow.webContents && frameUrl === INDEX_URL;
}

function wireIpc(api: StationApi): void {
  ipcMain.handle(INVOKE_CHANNEL, async (event, method: unknown, args: unknown) => {
    if (!trusted(event) || !isStationMethod(method) || !Array.isArray(args)) {
      return { ok: false, error: { code: 'FORBIDDEN', message: 'Refused: not a station API call from the Imprint window' } };
    }
    try {
      const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
      return { ok: true, value: await fn.apply(api, args) };
    } catch (e) {
      const err = e as { code?: string; message?: string; hint?: string };
      return { ok: false, error: { code: err.code ?? 'ERROR', message: err.message ?? String(e), hint: err.hint } };
    }
  });
  let unsubscribe: (() => void) | undefined;
  ipcMain.on(SUBSCRIBE_CHANNEL, (event) => {
    if (!trusted(event)) return;
    unsubscribe?.();
    const target = event.sender;
    unsubscribe = api.subscribe((e) => {
      if (!target.isDestroyed()) target.send(EVENT_CHANNEL, e);
    });
    target.once('destroyed', () => unsubscribe?.());
  });
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1366,
    height: 900,
    backgroundColor: '#0e1116',
    title: 'Imprint',
    webPreferences: {
      preload: join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.webContents.on('will-navigate', (e, url) => {
    if (url.split('#')[0] !== INDEX_URL) e.preventDefault();
  });
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.removeMenu();
  void win.loadFile(INDEX_HTML, { hash: '/operator' });
  return win;
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

app.whenReady().then(
  async () => {
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    const { url, token } = await startCore();
    const api = new HttpStationClient({ baseUrl: url, token, openEvents: (u, onData) => openFetchEventStream(u, onData) });
    wireIpc(api);
    mainWindow = createWindow();
    mainWindow.on('closed', () => {
      mainWindow = undefined;
    });
  },
  (e) => {
    console.error(`imprint: ${(e as Error).message}`);
    app.exit(1);
  },
);

app.on('window-all-closed', () => app.quit());
app.on('will-quit', () => {
  core?.kill('SIGTERM');
});
