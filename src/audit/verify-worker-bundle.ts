// Verify threads start without tsx. A worker thread that registers tsx first spends ~180 ms and
// ~0.3 CPU-s on it (Node 20 starts a loader thread per worker), during which the calling thread
// walks the chain alone: a third of what verifying 1,000,000 events on two threads costs beyond
// walking them. So the worker module (verify-worker.ts and what it imports: chain-chunks.ts,
// chain-link.ts, canonical-check.ts) is bundled by esbuild, the compiler tsx itself runs, into one
// JavaScript module that startWorker (src/common/typescript-worker.ts) starts like any `.mjs`:
// ~40 ms. The bundle is made from the sources as they are, never edited by hand: it is kept in a
// folder private to the user, with the SHA-256 of every source it was built from, and rebuilt
// (~75 ms, once) as soon as one of them differs. Whatever goes wrong (no esbuild, a folder others
// can write to, Windows), verify starts the TypeScript module through tsx as before.
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

type Esbuild = typeof import('esbuild');

export const VERIFY_WORKER_SOURCE = new URL('./verify-worker.ts', import.meta.url);

interface Manifest {
  bundle: string;
  /** SHA-256 of the bundle's text. */
  sha256: string;
  /** Absolute path → SHA-256 of each source the bundle was built from. */
  inputs: Record<string, string>;
}

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

let chosen: URL | undefined;

/** The module verify workers start: the bundle when it can be had, else verify-worker.ts itself. */
export function verifyWorkerModule(): URL {
  chosen ??= bundledModule(VERIFY_WORKER_SOURCE, defaultCacheDir()) ?? VERIFY_WORKER_SOURCE;
  return chosen;
}

function defaultCacheDir(): string | undefined {
  if (process.platform === 'win32' || typeof process.getuid !== 'function') return undefined;
  return join(tmpdir(), `imprint-workers-${process.getuid()}`);
}

/**
 * A `.mjs` bundle of `source` (a .ts module) in `cacheDir`, reused while every source it was built
 * from is unchanged, else built anew; undefined when it cannot be had (the caller then starts
 * `source` itself). Exported for the tests.
 */
export function bundledModule(source: URL, cacheDir: string | undefined): URL | undefined {
  if (!cacheDir || !source.pathname.endsWith('.ts')) return undefined;
  try {
    if (!privateDir(cacheDir)) return undefined;
    const entry = fileURLToPath(source);
    const manifestFile = join(cacheDir, `${sha256(`${entry}\0${process.version}`).slice(0, 24)}.json`);
    const reused = reusable(cacheDir, manifestFile);
    if (reused) return reused;
    return build(entry, cacheDir, manifestFile);
  } catch {
    return undefined;
  }
}

/** The folder exists (made 0700), is ours and nobody else can write to it: code is loaded from it. */
function privateDir(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  return st.isDirectory() && st.uid === process.getuid?.() && (st.mode & 0o022) === 0;
}

function reusable(dir: string, manifestFile: string): URL | undefined {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(manifestFile, 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof m?.bundle !== 'string' || m.bundle.includes('/') || typeof m.inputs !== 'object') return undefined;
  for (const [file, hash] of Object.entries(m.inputs)) {
    try {
      if (sha256(readFileSync(file)) !== hash) return undefined;
    } catch {
      return undefined;
    }
  }
  const bundle = join(dir, m.bundle);
  try {
    if (sha256(readFileSync(bundle)) !== m.sha256) return undefined;
  } catch {
    return undefined;
  }
  return pathToFileURL(bundle);
}

function build(entry: string, dir: string, manifestFile: string): URL | undefined {
  const esbuild = createRequire(import.meta.url)('esbuild') as Esbuild;
  const workingDir = dirname(entry);
  const out = esbuild.buildSync({
    entryPoints: [entry],
    absWorkingDir: workingDir,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: `node${process.versions.node.split('.')[0]}`,
    // Only Node's own modules stay imports: anything else would be looked up from the cache folder.
    external: ['node:*'],
    metafile: true,
    write: false,
    logLevel: 'silent',
  });
  const text = out.outputFiles?.[0]?.text;
  if (!text || out.errors.length > 0) return undefined;
  const inputs: Record<string, string> = {};
  for (const input of Object.keys(out.metafile?.inputs ?? {})) {
    const file = isAbsolute(input) ? input : resolve(workingDir, input);
    inputs[file] = sha256(readFileSync(file));
  }
  if (Object.keys(inputs).length === 0) return undefined;
  const hash = sha256(text);
  const name = `verify-worker-${hash.slice(0, 24)}.mjs`;
  writeAtomically(join(dir, name), text);
  writeAtomically(manifestFile, JSON.stringify({ bundle: name, sha256: hash, inputs } satisfies Manifest));
  return pathToFileURL(join(dir, name));
}

function writeAtomically(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}
