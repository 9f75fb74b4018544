// Web mode assembled: the station service on a data folder, the admin PIN, the secret store and
// the web server. Used by `imprint web`, `imprint start`, the desktop shell's core child and tests.
import { join } from 'node:path';
import { type Logger, silentLogger } from '../common/logger.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { FileSecretStore, type SecretStore } from '../station/secret-store.ts';
import { type AdminPinSetup, OperatorAuth } from './operator-auth.ts';
import { ensureRendererBuilt } from './renderer-build.ts';
import { type SimulationOptions, StationService } from './station-service.ts';
import { startWebServer, type WebServer } from './web-server.ts';
import { sessionToken } from './web-session.ts';

export interface WebModeOptions {
  dataDir: string;
  port?: number;
  /** Fall back to a free port when `port` is in use. */
  anyPortIfTaken?: boolean;
  simulate?: SimulationOptions;
  /** Default: a 0600 file `<data>/secrets.json`. */
  secrets?: SecretStore;
  /** Default: build renderer/dist when needed. */
  staticDir?: string;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** The session token to use; default: the one kept in `<data>/web-session.json` (web-session.ts). */
  token?: string;
  /** Replace the kept session token with a new one (`imprint web --new-token`). */
  newToken?: boolean;
}

export interface WebMode {
  service: StationService;
  web: WebServer;
  adminPin: AdminPinSetup;
  close(): Promise<void>;
}

export function secretsFile(dataDir: string): string {
  return join(dataDir, 'secrets.json');
}

export async function startWebMode(opts: WebModeOptions): Promise<WebMode> {
  ensurePrivateDir(opts.dataDir, opts.logger);
  const logger = opts.logger ?? silentLogger;
  const { auth, setup } = OperatorAuth.open(opts.dataDir, opts.env ?? process.env);
  const staticDir = opts.staticDir ?? (await ensureRendererBuilt({ log: (l) => logger.info(l) }));
  const token = opts.token ?? sessionToken(opts.dataDir, { renew: opts.newToken, logger });
  const service = await StationService.open({
    dataDir: opts.dataDir,
    auth,
    secrets: opts.secrets ?? new FileSecretStore(secretsFile(opts.dataDir)),
    simulate: opts.simulate,
    logger,
  });
  let web: WebServer;
  try {
    // A keep-alive every second: a healthy stream is never quiet for long (docs/ui.md, liveness).
    const serve = (port?: number) => startWebServer({ api: service, port, staticDir, logger, token, heartbeatMs: 1000 });
    web = await serve(opts.port).catch((e: NodeJS.ErrnoException) => {
      if (!opts.anyPortIfTaken || e.code !== 'EADDRINUSE') throw e;
      return serve(0);
    });
  } catch (e) {
    await service.close();
    throw e;
  }
  return {
    service,
    web,
    adminPin: setup,
    async close() {
      await web.close();
      await service.close();
    },
  };
}
