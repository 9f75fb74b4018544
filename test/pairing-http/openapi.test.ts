// The committed OpenAPI document is the one the server generates, and the server serves it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { openApiDocumentText } from '../../src/pairing/http/openapi-document.ts';
import { startTestServer } from './server-fixture.ts';

const committed = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');

test('docs/openapi.json equals the generated document (regenerate: node --import tsx scripts/write-openapi.ts)', async () => {
  assert.deepEqual(JSON.parse(committed), JSON.parse(await openApiDocumentText()));
});

test('the document covers every Astarte Pairing route and ours', () => {
  const doc = JSON.parse(committed);
  const ops = Object.entries(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap(([p, m]) =>
    Object.entries(m).map(([method, op]) => `${method.toUpperCase()} ${p} ${op.operationId}`),
  );
  for (const expected of [
    'POST /v1/{realm}/agent/devices registerDevice',
    'DELETE /v1/{realm}/agent/devices/{device_id} unregisterDevice',
    'GET /v1/{realm}/devices/{hw_id} getInfo',
    'POST /v1/{realm}/devices/{hw_id}/protocols/{protocol}/credentials obtainCredentials',
    'POST /v1/{realm}/devices/{hw_id}/protocols/{protocol}/credentials/verify verifyCredentials',
    'GET /v1/{realm}/version getRealmVersion',
    'GET /version getVersion',
    'GET /health getHealth',
    'GET /metrics getMetrics',
    'GET /v1/{realm}/ca getCaCertificate',
    'GET /v1/{realm}/ca/crl getCrl',
  ]) {
    assert.ok(ops.includes(expected), `${expected} missing from ${ops.join(', ')}`);
  }
});

test('GET /openapi.json serves the same document', async () => {
  const s = await startTestServer();
  try {
    const r = await s.request('GET', '/openapi.json');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, JSON.parse(committed));
  } finally {
    await s.close();
  }
});
