// The Electron shell: one window, the preload bridge, IPC wiring and the OS keychain. No UI logic
// and no station logic here: the station core runs as a Node child (its native modules are built
// for Node, not Electron) serving the station API on 127.0.0.1; this process relays it over IPC.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, session } from 'electron';
import { HttpStationClient } from '../src/api/http-station-client.ts';
import { openFetchEventStream } from '../src/api/sse-reader.ts';
import type { StationApi } from '../src/api/station-api.ts';
import { fromPage } from './ipc-guard.ts';
import { answerSecretRequest, isSecretRequest } from './secret-bridge.ts';
import { wireStationIpc } from './station-ipc.ts';

// Bundled to dist/electron/main.cjs (next to preload.cjs): the repository root is two levels up.
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
process.umask(0o077); // the station data and the sealed secrets file are private (0700 / 0600)
const INDEX_HTML = join(ROOT, 'renderer', 'dist', 'index.html');
const INDEX_URL = pathToFileURL(INDEX_HTML).href;

let core: ChildProcess | undefined;
let mainWindow: BrowserWindow | undefined;

// Every IPC handler is registered here, at startup, and only through the guard: a message is
// served only from our window's top frame showing our page. The API arrives once the core is up.
let stationReady: (api: StationApi) => void = () => {};
const station = new Promise<StationApi>((resolve) => {
  stationReady = resolve;
});
wireStationIpc(
  station,
  fromPage(() => mainWindow, INDEX_URL),
);

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

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1366,
    height: 900,
    backgroundColor: '#0e1116',
    title: 'Imprint',
    webPreferences: {
      preload: join(HERE, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.removeMenu();
  void win.loadFile(INDEX_HTML, { hash: '/operator' });
  return win;
}

// Whatever web contents exist (there should be one), none leaves our page, opens a window or
// embeds a webview.
app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (e) => e.preventDefault());
  contents.on('will-navigate', (e, url) => {
    if (url.split('#')[0] !== INDEX_URL) e.preventDefault();
  });
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

app
  .whenReady()
  .then(async () => {
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
    const { url, token } = await startCore();
    stationReady(new HttpStationClient({ baseUrl: url, token, openEvents: (u, onData) => openFetchEventStream(u, onData) }));
    mainWindow = createWindow();
    mainWindow.on('closed', () => {
      mainWindow = undefined;
    });
  })
  .catch((e) => {
    console.error(`imprint: ${(e as Error).message}`);
    app.exit(1);
  });

app.on('window-all-closed', () => app.quit());
app.on('will-quit', () => {
  core?.kill('SIGTERM');
});
