// A throwaway pairing core in a temp data dir, with one realm, for pairing tests. Its store is the
// embedded SQLite one, or a fresh PostgreSQL schema when IMPRINT_TEST_STORE=postgres (or `store`).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedPairingCore, type RealmConfig } from '../../src/pairing/embedded-core.ts';
import { HTTP_ANSWERS } from '../../src/pairing/http/error-replies.ts';
import { type PairingCode, PairingError } from '../../src/pairing/pairing-errors.ts';
import { makeAgentKeyPair, type PemKeyPair } from './pairing-keys.ts';
import { freshSchema, type TestSchema, testStoreEngine } from './pg-test-db.ts';

export interface TestCore {
  core: EmbeddedPairingCore;
  dataDir: string;
  realm: RealmConfig;
  agentKeys: PemKeyPair;
  /** The postgres:// URL of the store, when it is PostgreSQL. */
  storeUrl?: string;
  /** Close the core and open it again on the same data dir and store: a restart. */
  reopen(): Promise<EmbeddedPairingCore>;
  /** Close the core and delete its data dir (and its PostgreSQL schema). */
  cleanup(): Promise<void>;
}

export function makeTempDir(prefix = 'imprint-pairing-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function openTestCore(
  opts: {
    realm?: string;
    deviceRegistrationLimit?: number;
    now?: () => Date;
    dataDir?: string;
    store?: 'sqlite' | 'postgres';
  } = {},
): Promise<TestCore> {
  const dataDir = opts.dataDir ?? makeTempDir();
  const agentKeys = makeAgentKeyPair();
  let schema: TestSchema | undefined;
  if ((opts.store ?? testStoreEngine()) === 'postgres') schema = await freshSchema();
  const open = () => EmbeddedPairingCore.open({ dataDir, now: opts.now, store: schema?.url });
  const core = await open();
  const realm = await core.createRealm({
    name: opts.realm ?? 'test',
    publicKeyPem: agentKeys.publicKeyPem,
    brokerUrl: 'mqtts://broker.test:8883/',
    deviceRegistrationLimit: opts.deviceRegistrationLimit,
  });
  const t: TestCore = {
    core,
    dataDir,
    realm,
    agentKeys,
    storeUrl: schema?.url,
    async reopen() {
      await t.core.close();
      t.core = await open();
      return t.core;
    },
    async cleanup() {
      await t.core.close();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** For assert.throws/rejects: a PairingError with this code (and the HTTP status its code answers, when given). */
export function isPairingError(code: PairingCode, status?: number) {
  return (e: unknown) => {
    const err = e as { code?: string; message?: string };
    assert.ok(e instanceof PairingError, `expected a PairingError, got ${String(e)}`);
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    if (status !== undefined) assert.equal(HTTP_ANSWERS[code].status, status);
    return true;
  };
}
