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
