// Web mode in-process on a free port with a temp data dir, for the UI and API tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebServer, type WebServer } from '../../src/api/web-server.ts';
import { FakeStationApi } from './fake-station-api.ts';

export interface TestStation {
  web: WebServer;
  adminPin: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestStation(opts: { simulate: number; staticDir?: string }): Promise<TestStation> {
  const dataDir = mkdtempSync(join(tmpdir(), 'imprint-ui-'));
  const adminPin = '482915';
  const api = new FakeStationApi(adminPin);
  void opts;
  const web = await startWebServer({
    api,
    port: 0,
    staticDir: opts.staticDir ?? join(import.meta.dirname, '../../renderer/dist'),
  });
  return {
    web,
    adminPin,
    dataDir,
    async close() {
      await api.stop();
      await web.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
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
