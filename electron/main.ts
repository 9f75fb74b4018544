// The Electron shell: one window, the preload bridge, IPC wiring and the OS keychain. No UI logic
// and no station logic here: the station core runs as a supervised child process
// (core-supervisor.ts) serving the station API on 127.0.0.1; this process relays it over IPC.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { app, BrowserWindow, session } from 'electron';
import { HttpStationClient } from '../src/api/http-station-client.ts';
import { openFetchEventStream } from '../src/api/sse-reader.ts';
import { CoreSupervisor } from './core-supervisor.ts';
import { fromPage } from './ipc-guard.ts';
import { answerSecretRequest, isSecretRequest } from './secret-bridge.ts';
import { coreCommand, shellOptions } from './shell-options.ts';
import { wireStationIpc } from './station-ipc.ts';

// Bundled to dist/electron/main.cjs (next to preload.cjs): the app's root is two levels up.
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
process.umask(0o077); // the station data and the sealed secrets file are private (0700 / 0600)
const INDEX_HTML = join(ROOT, 'renderer', 'dist', 'index.html');
const INDEX_URL = pathToFileURL(INDEX_HTML).href;

let mainWindow: BrowserWindow | undefined;

const options = shellOptions(process.argv, process.env, app.getPath('userData'));
const secretsFile = join(app.getPath('userData'), 'secrets.sealed.json');
const core = new CoreSupervisor({
  spawn: () => {
    const cmd = coreCommand({ packaged: app.isPackaged, execPath: process.execPath, root: ROOT, options, env: process.env });
    return spawn(cmd.command, cmd.args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: cmd.env });
  },
  connect: ({ url, token }) =>
    new HttpStationClient({ baseUrl: url, token, openEvents: (u, onData) => openFetchEventStream(u, onData) }),
  onMessage: (child, m) => {
    if (isSecretRequest(m)) answerSecretRequest(child, secretsFile, m);
  },
  log: (line) => console.error(line),
});

// Every IPC handler is registered here, at startup, and only through the guard: a message is
// served only from our window's top frame showing our page. Until a core answers, calls fail at
// once with STATION_OFFLINE (the page says "starting" / "offline", never hangs).
wireStationIpc(
  Promise.resolve(core.api),
  fromPage(() => mainWindow, INDEX_URL),
);

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1366,
    height: 768,
    backgroundColor: '#0e1116',
    title: 'Imprint',
    // Kiosk: full screen with no way out through the window frame or a menu.
    ...(options.kiosk ? { kiosk: true, fullscreen: true, frame: false } : {}),
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

// One Imprint per PC: two would open the same station data and fixture ports. A second start
// brings the first window to the front instead.
if (!app.requestSingleInstanceLock()) {
  console.error('imprint: Imprint is already running on this computer; showing its window.');
  app.exit(0);
} else {
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.show();
    mainWindow.focus();
  });
  app
    .whenReady()
    .then(() => {
      session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
      core.start();
      mainWindow = createWindow();
      mainWindow.on('closed', () => {
        mainWindow = undefined;
      });
    })
    .catch((e) => {
      console.error(`imprint: ${(e as Error).message}`);
      app.exit(1);
    });
}

app.on('window-all-closed', () => app.quit());
app.on('will-quit', () => core.stop());
