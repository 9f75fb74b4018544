// The web session token is kept in the data folder (0600) across restarts, replaced on request,
// and replaced when the file does not hold a token of ours.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sessionToken, webSessionFile } from '../../src/api/web-session.ts';

const dir = mkdtempSync(join(tmpdir(), 'imprint-web-session-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the same token at every start, in a 0600 file; --new-token replaces it', () => {
  const first = sessionToken(dir);
  assert.match(first, /^[A-Za-z0-9_-]{32}$/);
  assert.equal(statSync(webSessionFile(dir)).mode & 0o777, 0o600);
  assert.equal(sessionToken(dir), first);
  const renewed = sessionToken(dir, { renew: true });
  assert.notEqual(renewed, first);
  assert.equal(sessionToken(dir), renewed);
});

test('a file opened to others is made private again; one without a token of ours is replaced', () => {
  const kept = sessionToken(dir);
  chmodSync(webSessionFile(dir), 0o644);
  assert.equal(sessionToken(dir), kept);
  assert.equal(statSync(webSessionFile(dir)).mode & 0o777, 0o600);
  for (const bad of ['not json', JSON.stringify({ token: 'short' }), JSON.stringify({ token: 42 })]) {
    writeFileSync(webSessionFile(dir), bad);
    const made = sessionToken(dir);
    assert.match(made, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(JSON.parse(readFileSync(webSessionFile(dir), 'utf8')).token, made);
  }
});
