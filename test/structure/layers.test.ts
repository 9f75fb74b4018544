// The build enforces the layers' arrows: a forbidden import or a cycle, added to a copy of the tree's
// shape, must make the structure check fail, and the real tree must pass it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules/.bin/depcruise');
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cruise(files: Record<string, string>): { status: number | null; out: string } {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-layers-'));
  dirs.push(dir);
  copyFileSync(join(ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'));
  copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = spawnSync(DEPCRUISE, ['src', '--config', '.dependency-cruiser.cjs'], { cwd: dir, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

const forbidden: Array<[string, string, string]> = [
  ['serial-knows-no-domain', 'src/serial/a.ts', 'src/pairing/b.ts'],
  ['serial-knows-no-domain', 'src/serial/a.ts', 'src/station/b.ts'],
  ['pairing-is-a-core', 'src/pairing/a.ts', 'src/station/b.ts'],
  ['pairing-is-a-core', 'src/pairing/a.ts', 'src/api/b.ts'],
  ['audit-knows-no-station', 'src/audit/a.ts', 'src/station/b.ts'],
  ['station-below-transports', 'src/station/a.ts', 'src/api/b.ts'],
  ['station-below-transports', 'src/station/a.ts', 'src/sync/b.ts'],
  ['src-is-product', 'src/station/a.ts', 'fixtures/b.ts'],
  ['src-is-product', 'src/api/a.ts', 'electron/b.ts'],
];

for (const [rule, from, to] of forbidden) {
  test(`an import ${from} → ${to} fails the build (${rule})`, () => {
    const rel = `${'../'.repeat(from.split('/').length - 1)}${to}`;
    const r = cruise({ [from]: `import { b } from '${rel}';\nexport const a = b;\n`, [to]: 'export const b = 1;\n' });
    assert.notEqual(r.status, 0, r.out);
    assert.match(r.out, new RegExp(rule));
  });
}

test('a cycle fails the build', () => {
  const r = cruise({
    'src/pairing/http/server.ts': "import { route } from './routes.ts';\nexport const server = () => route;\n",
    'src/pairing/http/routes.ts': "import { server } from './server.ts';\nexport const route = () => server;\n",
  });
  assert.notEqual(r.status, 0, r.out);
  assert.match(r.out, /no-cycles/);
});

test('allowed arrows pass: station → serial, pairing, audit; anything → common', () => {
  const r = cruise({
    'src/station/a.ts':
      "import { s } from '../serial/s.ts';\nimport { p } from '../pairing/p.ts';\nimport { c } from '../common/c.ts';\nexport const a = [s, p, c];\n",
    'src/serial/s.ts': "import { c } from '../common/c.ts';\nexport const s = c;\n",
    'src/pairing/p.ts': 'export const p = 1;\n',
    'src/common/c.ts': 'export const c = 1;\n',
  });
  assert.equal(r.status, 0, r.out);
});
