// `npm start` on a desktop: find the Electron binary (it cannot be downloaded everywhere), bundle
// the shell (main + preload, CommonJS as Electron's sandboxed preload needs) with Vite, and run it.
// src/ never imports electron: the binary's path is read from the electron package's path.txt.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ELECTRON_DIR = fileURLToPath(new URL('../../electron/', import.meta.url));
/** Under the repository's gitignored dist/ (also outside lint). */
export const ELECTRON_DIST = fileURLToPath(new URL('../../dist/electron/', import.meta.url));

/** The Electron executable, or why there is none. */
export function findElectronBinary(): { path: string } | { missing: string } {
  let pkgDir: string;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { missing: 'the electron package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  if (!existsSync(pathFile)) return { missing: 'its binary was not downloaded into node_modules/electron' };
  const rel = readFileSync(pathFile, 'utf8').trim();
  const base = process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(pkgDir, 'dist');
  const exe = join(base, rel);
  return existsSync(exe) ? { path: exe } : { missing: `${exe} does not exist` };
}

/** Bundle electron/main.ts and electron/preload.ts into electron/dist/*.cjs. */
export async function buildElectronShell(): Promise<string> {
  const { build } = await import('vite');
  const external = ['electron', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
  for (const entry of ['main', 'preload']) {
    await build({
      configFile: false,
      logLevel: 'warn',
      root: ELECTRON_DIR,
      build: {
        outDir: ELECTRON_DIST,
        emptyOutDir: false,
        minify: false,
        target: 'node22',
        ssr: join(ELECTRON_DIR, `${entry}.ts`),
        rollupOptions: { external, output: { format: 'cjs', entryFileNames: `${entry}.cjs` } },
      },
    });
  }
  return ELECTRON_DIST;
}

/** Run the desktop app; resolves with Electron's exit code. */
export function runElectron(exe: string, env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(exe, [join(ELECTRON_DIST, 'main.cjs')], {
    stdio: 'inherit',
    env: { ...process.env, ...env, IMPRINT_NODE: process.execPath },
  });
  const stop = () => child.kill('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 0)));
}
