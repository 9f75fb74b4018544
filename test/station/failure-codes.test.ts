// Every failure has a code, a message and an action, and the operator docs list every code.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { FAILURES, failureInfo, StationFailure } from '../../src/station/failure-codes.ts';

test('every failure code has a message and an action, and docs/station.md lists it with both', () => {
  const doc = readFileSync(new URL('../../docs/station.md', import.meta.url), 'utf8');
  for (const [code, f] of Object.entries(FAILURES)) {
    assert.match(code, /^[A-Z][A-Z_]+$/);
    assert.ok(f.message.length > 10 && f.action.length > 10, code);
    assert.ok(
      doc.includes(`| \`${code}\` | ${f.message} | ${f.action} |`),
      `docs/station.md: row for ${code} missing or out of date`,
    );
    assert.deepEqual(failureInfo(code as keyof typeof FAILURES), { code, ...f });
  }
});

test('a StationFailure carries its code, a detailed message and the action', () => {
  const e = new StationFailure('LABEL_MISMATCH', { detail: 'label SN1, device SN2' });
  assert.equal(e.code, 'LABEL_MISMATCH');
  assert.match(e.message, /label swap.*SN1, device SN2/);
  assert.equal(e.info.action, FAILURES.LABEL_MISMATCH.action);
  assert.equal(e.hint, FAILURES.LABEL_MISMATCH.action);
});
