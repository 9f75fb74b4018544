// Can the remote core learn offline registrations? The capability probe against an Astarte-compatible
// core without the import API (404), against our own core, against nothing at all, and the verdict the
// station draws from it and from what it remembered for that URL + realm.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, test } from 'node:test';
import { mintAgentToken } from '../../src/pairing/agent-token.ts';
import { servePairing } from '../../src/pairing/http/server.ts';
import { offlineVerdict, probeCapabilities, type RemoteCapabilities } from '../../src/sync/remote-capabilities.ts';
import { AstartePeer, freeLoopbackPort } from '../helpers/astarte-peer.ts';
import { openTestCore } from '../helpers/pairing-core.ts';
import { makeAgentKeyPair } from '../helpers/pairing-keys.ts';
import { tempDir } from './sync-harness.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a core without the import API answers 404: it cannot import offline registrations', async () => {
  const dir = tempDir('imprint-astarte-peer-');
  dirs.push(dir);
  const peer = await AstartePeer.create(dir, 'plant');
  await peer.start();
  try {
    const token = await mintAgentToken({ privateKey: peer.agentKeys.privateKeyPem });
    const probe = await probeCapabilities({ url: peer.url, realm: 'plant', agentToken: token });
    assert.deepEqual(probe, { outcome: 'answered', offlineImports: false });
    const verdict = offlineVerdict(probe, undefined, { url: peer.url, realm: 'plant' });
    assert.equal(verdict.allowed, false);
    assert.equal(!verdict.allowed && verdict.why, 'no-imports');
    // A token the peer refuses is a token problem, not a capability.
    const other = await mintAgentToken({ privateKey: makeAgentKeyPair().privateKeyPem });
    assert.equal((await probeCapabilities({ url: peer.url, realm: 'plant', agentToken: other })).outcome, 'refused');
  } finally {
    await peer.stop();
  }
});

test('our own core has the import API: offline registrations are allowed', async () => {
  const core = await openTestCore({ realm: 'plant' });
  const server = await servePairing({ core: core.core, host: '127.0.0.1', port: 0 });
  try {
    const token = await mintAgentToken({ privateKey: core.agentKeys.privateKeyPem });
    const probe = await probeCapabilities({ url: `${server.url}/v1/`, realm: 'plant', agentToken: token });
    assert.deepEqual(probe, { outcome: 'answered', offlineImports: true });
    const verdict = offlineVerdict(probe, undefined, { url: server.url, realm: 'plant' });
    assert.equal(verdict.allowed, true);
    assert.equal(verdict.allowed && verdict.known.url, server.url);
  } finally {
    await server.close();
    await core.cleanup();
  }
});

test('a core that does not answer is judged by what was remembered for that exact URL and realm, else refused', async () => {
  const url = `http://127.0.0.1:${await freeLoopbackPort()}`;
  const probe = await probeCapabilities({ url, realm: 'plant', agentToken: 'x.y.z', timeoutMs: 1000 });
  assert.equal(probe.outcome, 'unreachable');
  const remembered: RemoteCapabilities = { url, realm: 'plant', offlineImports: true, probedAt: '2026-01-01T00:00:00.000Z' };
  assert.equal(offlineVerdict(probe, remembered, { url, realm: 'plant' }).allowed, true);
  assert.equal(offlineVerdict(probe, { ...remembered, offlineImports: false }, { url, realm: 'plant' }).allowed, false);
  // Another realm or another URL: nothing is known.
  const otherRealm = offlineVerdict(probe, remembered, { url, realm: 'other' });
  assert.equal(!otherRealm.allowed && otherRealm.why, 'unknown');
  const otherUrl = offlineVerdict(probe, remembered, { url: 'http://127.0.0.1:9', realm: 'plant' });
  assert.equal(!otherUrl.allowed && otherUrl.why, 'unknown');
  const none = offlineVerdict(probe, undefined, { url, realm: 'plant' });
  assert.equal(!none.allowed && none.why, 'unknown');
});
