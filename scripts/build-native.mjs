// Builds the native ECDSA addon (native/ec-fast, see its header) with node-gyp, the way npm builds better-sqlite3:
// `prepare` runs it on `npm install` / `npm ci`. With --if-possible a failed build only warns: the pairing core then
// uses node:crypto for the same checks (slower; `imprint_pairing_native_ecdsa` is 0 on /metrics).
// Plain JavaScript, so it runs before anything else is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'native', 'ec-fast');
const output = join(dir, 'build', 'Release', 'ec_fast.node');
const sources = ['binding.gyp', 'ec_fast.c'].map((f) => join(dir, f));
const ifPossible = process.argv.includes('--if-possible');

const mtime = (p) => statSync(p).mtimeMs;
if (existsSync(output) && sources.every((s) => mtime(s) <= mtime(output)) && !process.argv.includes('--force')) {
  console.log('imprint: native ECDSA addon up to date');
  process.exit(0);
}

/** npm hands its own node-gyp to lifecycle scripts; outside npm, the one npm ships next to this node. */
function nodeGyp() {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c));
}

const gyp = nodeGyp();
const args = gyp ? [gyp, 'rebuild', '--release', `--directory=${dir}`] : [];
// Node's own headers (Debian and nodesource packages install them with node): no download needed.
const headers = join(dirname(process.execPath), '..', 'include', 'node', 'node_api.h');
if (gyp && !process.env.npm_config_nodedir && existsSync(headers))
  args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
const run = gyp ? spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' }) : undefined;
if (run?.status === 0 && existsSync(output)) {
  console.log('imprint: native ECDSA addon built');
} else {
  const why = !gyp ? 'node-gyp not found' : (run?.stderr || run?.error?.message || '').trim().split('\n').slice(-5).join('\n');
  console.error(`imprint: native ECDSA addon not built (${why})`);
  if (!ifPossible) process.exit(1);
  console.error('imprint: the pairing core will use node:crypto for CSR checks and certificate signing (slower)');
}
