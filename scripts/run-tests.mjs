#!/usr/bin/env node
// `npm test`: lint, type-check, then every test file under test/ with node's test runner.
// Ends with the plain line "N passed, N failed" and fails when no test ran.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

function step(name, cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`\n${name} failed (exit ${r.status}).`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

if (only.length === 0) {
  step('lint', 'npx', ['biome', 'check', '.']);
  // The layers' arrows (.dependency-cruiser.cjs, docs/architecture.md): any violation fails, no baseline.
  step('layers', 'npx', ['depcruise', 'src', 'electron', 'renderer/src', 'bin', '--config', '.dependency-cruiser.cjs']);
  step('typecheck', 'npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']);
  for (const extra of ['electron/tsconfig.json', 'renderer/tsconfig.json']) {
    try {
      statSync(join(root, extra));
      step(`typecheck ${extra}`, 'npx', ['tsc', '-p', extra, '--noEmit']);
    } catch {}
  }
}

const files = only.length ? only : findTests(join(root, 'test'));
if (files.length === 0) {
  console.log('no test files found\n0 passed, 0 failed');
  process.exit(1);
}
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=./scripts/summary-reporter.mjs',
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-400);
});
child.on('close', (code) => {
  const m = /(\d+) passed, (\d+) failed/.exec(tail);
  if (!m || Number(m[1]) + Number(m[2]) === 0) {
    console.error('no test was executed');
    process.exit(1);
  }
  process.exit(code ?? 1);
});
