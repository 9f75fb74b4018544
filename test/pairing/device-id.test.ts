import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalDeviceId, decodeDeviceId, deriveDeviceId, isCanonicalDeviceId } from '../../src/common/device-id.ts';

test('UUIDv5 derivation matches the Astarte test vector', () => {
  assert.equal(deriveDeviceId('myidentifierdata', 'f79ad91f-c638-4889-ae74-9d001a3b4cf8'), 'AJInS0w3VpWpuOqkXhgZdA');
});

test('longer device ids are truncated to 16 bytes where allowed and rejected elsewhere', () => {
  const long = `${'AJInS0w3VpWpuOqkXhgZdA'}xyzw`;
  assert.equal(canonicalDeviceId(long), 'AJInS0w3VpWpuOqkXhgZdA');
  assert.throws(() => decodeDeviceId(long, { allowLonger: false }), /longer than 22/);
});

test('malformed device ids get a clear error', () => {
  for (const bad of ['', 'short', 'AJInS0w3VpWpuOqkXhgZd!', 'AJInS0w3VpWpuOqkXhgZ==']) {
    assert.throws(
      () => canonicalDeviceId(bad),
      (e: Error & { code?: string }) => e.code === 'INVALID_DEVICE_ID',
    );
  }
  assert.equal(isCanonicalDeviceId('AJInS0w3VpWpuOqkXhgZdA'), true);
  assert.equal(isCanonicalDeviceId('AJInS0w3VpWpuOqkXhgZd'), false);
});

test('the canonical form is the one the 16 bytes encode to, whether or not the id was canonical already', () => {
  for (let i = 0; i < 2000; i++) {
    const id = deriveDeviceId(`serial-${i}`);
    assert.equal(canonicalDeviceId(id), id);
    // Non-zero trailing bits name the same 16 bytes: they come back canonical.
    const last = 'AQgw'.indexOf(id[21]);
    const alias = `${id.slice(0, 21)}${'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[last * 16 + 1 + (i % 15)]}`;
    assert.equal(canonicalDeviceId(alias), id, alias);
  }
});
