// Builds the React renderer with Vite's JS API when renderer/dist is missing or older than its
// sources, so `npm start` and `imprint web` work on a fresh clone without a separate build step.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from './api-errors.ts';

export const RENDERER_DIR = fileURLToPath(new URL('../../renderer/', import.meta.url));
export const RENDERER_DIST = join(RENDERER_DIR, 'dist');
const SHARED_SOURCES = fileURLToPath(new URL('./', import.meta.url));

function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

export function rendererIsBuilt(): boolean {
  const index = join(RENDERER_DIST, 'index.html');
  if (!existsSync(index)) return false;
  const sources = [
    join(RENDERER_DIR, 'src'),
    join(RENDERER_DIR, 'index.html'),
    join(RENDERER_DIR, 'public'),
    join(RENDERER_DIR, 'vite.config.ts'),
    SHARED_SOURCES,
  ];
  const built = statSync(index).mtimeMs;
  return sources.every((s) => !existsSync(s) || newestMtime(s) <= built);
}

const LOCK_DIR = join(RENDERER_DIR, '.build-lock');
const LOCK_STALE_MS = 120_000;

/** One build at a time across processes (parallel test files, a second station): a lock folder. */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 2 * LOCK_STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const age = Date.now() - (statSync(LOCK_DIR, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) rmSync(LOCK_DIR, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new ApiError('UI_BUILD_LOCKED', LOCK_DIR);
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Build when needed; returns the dist folder. */
export async function ensureRendererBuilt(opts: { force?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  if (!opts.force && rendererIsBuilt()) return RENDERER_DIST;
  return withBuildLock(async () => {
    if (!opts.force && rendererIsBuilt()) return RENDERER_DIST;
    // Vite and React are build-time (dev) dependencies: an install without them serves the UI
    // built at install time (`npm run build:ui`, run by `prepare`), even if sources changed since.
    const vite = await import('vite').catch(() => undefined);
    if (!vite) {
      if (existsSync(join(RENDERER_DIST, 'index.html'))) return RENDERER_DIST;
      throw new ApiError('UI_NOT_BUILT');
    }
    opts.log?.('Building the Imprint UI (first start or changed sources)…');
    await vite.build({ configFile: join(RENDERER_DIR, 'vite.config.ts'), logLevel: 'warn' });
    return RENDERER_DIST;
  });
}
