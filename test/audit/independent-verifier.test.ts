// Our verifier and an independent one written from docs/audit-trail.md alone (Python, standard
// library only: test/audit/independent_verifier.py) reach the same verdict at the same seq, on
// untouched trails and exports and on every tampering case, and that verdict is the right one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseAnchorArgument } from '../../src/audit/audit-anchor.ts';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import type { ChainStatus } from '../../src/audit/audit-types.ts';
import { verifyExportFile } from '../../src/audit/audit-verify.ts';
import { STATION } from './audit-fixtures.ts';
import { buildPristine, copyOf, DB_CASES, EXPORT_CASES, type Expect, type Pristine } from './tamper-cases.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = new URL('./independent_verifier.py', import.meta.url).pathname;
const run = promisify(execFile);

async function python(args: string[]): Promise<{ ok: boolean; brokenAt: number | null; reason: string }> {
  // Exit 3 means "broken": the verdict is on stdout either way.
  const out = await run(PYTHON, [SCRIPT, ...args], { timeout: 120_000 }).catch((e: { stdout?: string; code?: number }) => {
    if (e.code === 3 && e.stdout) return { stdout: e.stdout };
    throw e;
  });
  return JSON.parse(out.stdout);
}

function verdict(s: ChainStatus): Expect {
  return s.ok ? { ok: true } : { ok: false, brokenAt: s.brokenAt };
}

describe('an independent verifier written from the docs agrees with ours', () => {
  let p: Pristine;
  before(async () => {
    p = await buildPristine();
  });
  after(() => p.cleanup());

  for (const c of DB_CASES)
    test(`database: ${c.name}`, async () => {
      const copy = copyOf(p);
      try {
        c.tamper(copy.dir, p);
        const anchors = c.anchors?.(p) ?? [];
        const pinned = c.pinned ? [p.keyId] : undefined;
        const trail = AuditTrail.open({ file: join(copy.dir, 'audit.db'), stationId: STATION, readonly: true });
        let ours: ChainStatus;
        try {
          ours = trail.verify({ trustedKeyIds: pinned, anchors: anchors.map((a) => parseAnchorArgument(a, pinned)) });
        } finally {
          trail.close();
        }
        const theirs = await python([
          '--db',
          join(copy.dir, 'audit.db'),
          ...(pinned ? ['--key-id', ...pinned] : []),
          ...(anchors.length ? ['--anchor', ...anchors] : []),
        ]);
        assert.deepEqual(verdict(ours), c.expect(p), `ours: ${JSON.stringify(ours)}`);
        assert.deepEqual(
          { ok: theirs.ok, brokenAt: theirs.brokenAt ?? undefined },
          { ok: ours.ok, brokenAt: ours.ok ? undefined : ours.brokenAt },
          `theirs: ${theirs.reason}`,
        );
      } finally {
        copy.cleanup();
      }
    });

  for (const c of EXPORT_CASES)
    test(`${c.format} export: ${c.name}`, async () => {
      const copy = copyOf(p);
      try {
        const file = join(copy.dir, `export.${c.format}`);
        writeFileSync(file, c.tamper(c.format === 'csv' ? p.csv : p.jsonl, p));
        const pinned = c.pinned ? [p.keyId] : undefined;
        const ours = await verifyExportFile(file, { trustedKeyIds: pinned });
        const theirs = await python(['--file', file, ...(pinned ? ['--key-id', ...pinned] : [])]);
        assert.deepEqual(verdict(ours), c.expect(p), `ours: ${JSON.stringify(ours)}`);
        assert.deepEqual(
          { ok: theirs.ok, brokenAt: theirs.brokenAt ?? undefined },
          { ok: ours.ok, brokenAt: ours.ok ? undefined : ours.brokenAt },
          `theirs: ${theirs.reason}`,
        );
      } finally {
        copy.cleanup();
      }
    });
});
