// Builds the React renderer with Vite's JS API when renderer/dist is missing or older than its
// sources, so `npm start` and `imprint web` work on a fresh clone without a separate build step.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
    join(RENDERER_DIR, 'vite.config.ts'),
    SHARED_SOURCES,
  ];
  const built = statSync(index).mtimeMs;
  return sources.every((s) => !existsSync(s) || newestMtime(s) <= built);
}

/** Build when needed; returns the dist folder. */
export async function ensureRendererBuilt(opts: { force?: boolean; log?: (line: string) => void } = {}): Promise<string> {
  if (!opts.force && rendererIsBuilt()) return RENDERER_DIST;
  opts.log?.('Building the Imprint UI (first start or changed sources)…');
  const { build } = await import('vite');
  await build({ configFile: join(RENDERER_DIR, 'vite.config.ts'), logLevel: 'warn' });
  return RENDERER_DIST;
}
