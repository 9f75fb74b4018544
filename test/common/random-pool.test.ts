// Random bytes on the request path come from a pool of CSPRNG output: every slice is new.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pooledRandomBytes } from '../../src/common/random-pool.ts';

test('pooled random bytes are never handed out twice, across refills of the pool', () => {
  const seen = new Set<string>();
  // 3,000 × 32 bytes spans ~23 refills of the 4 KiB pool, with slices that straddle their ends.
  for (let i = 0; i < 3000; i++) {
    const b = pooledRandomBytes(i % 3 === 0 ? 16 : 32);
    assert.equal(b.length, i % 3 === 0 ? 16 : 32);
    const hex = b.toString('hex');
    assert.ok(!seen.has(hex), 'a slice came out twice');
    assert.ok(!/^(00)+$/.test(hex), 'a wiped (all-zero) slice came out');
    seen.add(hex);
  }
});

test('a returned buffer is the caller’s own: changing it changes no later value', () => {
  const a = pooledRandomBytes(32);
  a.fill(0xaa);
  const b = pooledRandomBytes(32);
  assert.notDeepEqual(b, Buffer.alloc(32, 0xaa));
  assert.equal(a.buffer === b.buffer && a.byteOffset + 32 > b.byteOffset && b.byteOffset + 32 > a.byteOffset, false);
});

test('sizes outside 1..256 are refused', () => {
  for (const n of [0, -1, 257, 1.5, Number.NaN]) assert.throws(() => pooledRandomBytes(n), RangeError);
});
