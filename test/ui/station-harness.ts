// Web mode in-process on the real station (simulated line, in-process devices) on a free port
// with a temp data dir, for the UI and API tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimulationOptions } from '../../src/api/station-service.ts';
import { startWebMode, type WebMode } from '../../src/api/web-mode.ts';
import type { WebServer } from '../../src/api/web-server.ts';

export interface TestStation {
  mode: WebMode;
  web: WebServer;
  adminPin: string;
  dataDir: string;
  close(): Promise<void>;
}

/** `simulate` undefined: the station decides (simulated until a fixture port is configured). */
export async function startTestStation(opts: { simulate?: SimulationOptions }): Promise<TestStation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-ui-'));
  const adminPin = '482915';
  try {
    const mode = await startWebMode({
      dataDir,
      port: 0,
      simulate: opts.simulate && { swapDelayMs: 300, ...opts.simulate },
      env: { IMPRINT_ADMIN_PIN: adminPin },
    });
    return {
      mode,
      web: mode.web,
      adminPin,
      dataDir,
      async close() {
        await mode.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
}

/** Await `p`, failing with `message` after `ms` (the timer never outlives the wait). */
export async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
