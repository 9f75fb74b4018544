// src/sync/sync-state.ts on the shared migration mechanism: a sync.db from before versioning is
// adopted with its rows, a new one starts at the latest version, a newer one is refused.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { SYNC_STATE_MIGRATIONS, SyncState } from '../../src/sync/sync-state.ts';
import { makeTempDir } from '../helpers/pairing-core.ts';

const latest = SYNC_STATE_MIGRATIONS.at(-1)!.version;

test('an unversioned sync.db from before is adopted with its journal; a new one starts at the latest version', () => {
  const dir = makeTempDir('imprint-sync-');
  try {
    const old = join(dir, 'old.db');
    const db = new Database(old);
    // The schema as earlier versions created it, without PRAGMA user_version.
    db.exec(SYNC_STATE_MIGRATIONS[0].sql);
    db.prepare(
      `INSERT INTO offline_registrations (realm, device_id, batch, registered_at) VALUES ('r', 'AJInS0w3VpWpuOqkXhgZdA', 'b1', 'x')`,
    ).run();
    assert.equal(db.pragma('user_version', { simple: true }), 0);
    db.close();
    const state = SyncState.open(old);
    assert.equal(state.offlineRegistration('r', 'AJInS0w3VpWpuOqkXhgZdA')?.batch, 'b1');
    state.close();
    const check = new Database(old, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), latest);
    assert.equal(check.pragma('journal_mode', { simple: true }), 'wal');
    check.close();
    SyncState.open(join(dir, 'new.db')).close();
    const fresh = new Database(join(dir, 'new.db'), { readonly: true });
    assert.equal(fresh.pragma('user_version', { simple: true }), latest);
    fresh.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sync.db written by a newer Imprint is refused', () => {
  const dir = makeTempDir('imprint-sync-');
  try {
    const file = join(dir, 'sync.db');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => SyncState.open(file), { code: 'DB_SCHEMA_TOO_NEW' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
