// Shared set-up for the station tests: a temp data folder with the embedded core (realm created),
// station DB, vault and a real audit trail, plus a pairing client that remembers the secrets it
// handed out so tests can prove the core accepts what the device holds (and find leaks).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditTrail } from '../../src/audit/audit-trail.ts';
import { EmbeddedPairingCore } from '../../src/pairing/embedded-core.ts';
import type { PairingClient, RegisterOptions } from '../../src/pairing/pairing-api.ts';
import { parseLabel } from '../../src/serial/label-parser.ts';
import type { DeviceIdRule } from '../../src/station/device-id-rule.ts';
import { ensureEmbeddedRealm } from '../../src/station/pairing-setup.ts';
import { ProvisioningWorkflow, type WorkflowContext } from '../../src/station/provisioning-workflow.ts';
import { SecretVault } from '../../src/station/secret-vault.ts';
import { defaultStationConfig } from '../../src/station/station-config.ts';
import { StationDb } from '../../src/station/station-db.ts';

export const REALM = 'testrealm';

/** Wraps a pairing client: counts registrations and keeps the secrets (test only). */
export class RecordingPairing implements PairingClient {
  readonly secrets: string[] = [];
  registrations = 0;
  constructor(readonly inner: PairingClient) {}
  get kind() {
    return this.inner.kind;
  }
  get url() {
    return this.inner.url;
  }
  async registerDevice(realm: string, hwId: string, opts?: RegisterOptions) {
    const r = await this.inner.registerDevice(realm, hwId, opts);
    this.registrations++;
    this.secrets.push(r.credentialsSecret);
    return r;
  }
  unregisterDevice(realm: string, deviceId: string) {
    return this.inner.unregisterDevice(realm, deviceId);
  }
  getInfo(realm: string, hwId: string, secret: string) {
    return this.inner.getInfo(realm, hwId, secret);
  }
  requestCredentials(realm: string, hwId: string, secret: string, csr: string) {
    return this.inner.requestCredentials(realm, hwId, secret, csr);
  }
  verifyCredentials(realm: string, hwId: string, secret: string, crt: string) {
    return this.inner.verifyCredentials(realm, hwId, secret, crt);
  }
  close() {
    return this.inner.close();
  }
}

export interface Harness {
  dir: string;
  core: EmbeddedPairingCore;
  pairing: RecordingPairing;
  db: StationDb;
  vault: SecretVault;
  audit: AuditTrail;
  workflow: ProvisioningWorkflow;
  ctx: WorkflowContext;
  close(): Promise<void>;
}

export function tempDir(prefix = 'imprint-station-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function openHarness(
  opts: { pairing?: (core: EmbeddedPairingCore) => PairingClient; deviceIdRule?: DeviceIdRule; dir?: string } = {},
): Promise<Harness> {
  const dir = opts.dir ?? tempDir();
  const core = await EmbeddedPairingCore.open({ dataDir: join(dir, 'pairing') });
  const config = { ...defaultStationConfig(), realm: REALM, stationId: 'test-station' };
  await ensureEmbeddedRealm(core, dir, config);
  const pairing = new RecordingPairing(opts.pairing ? opts.pairing(core) : core);
  const db = StationDb.open(join(dir, 'station.db'));
  const vault = SecretVault.open({ keyFile: join(dir, 'station.key'), db });
  const audit = AuditTrail.open({ file: join(dir, 'audit.db'), stationId: 'test-station' });
  const ctx: WorkflowContext = {
    stationId: 'test-station',
    pairing: { client: pairing, realm: REALM },
    vault,
    db,
    audit,
    deviceIdRule: opts.deviceIdRule ?? config.deviceIdRule,
    parseLabel: (t) => parseLabel(t),
    pairingUrl: 'http://pairing.test:4003',
    brokerUrl: 'mqtts://broker.test:8883/',
  };
  return {
    dir,
    core,
    pairing,
    db,
    vault,
    audit,
    ctx,
    workflow: new ProvisioningWorkflow(ctx),
    async close() {
      audit.close();
      db.close();
      await core.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fast-failing client timeouts so fault tests stay quick. */
export const FAST_CLIENT = { timeoutMs: 80, writeTimeoutMs: 400, retries: 2 };
