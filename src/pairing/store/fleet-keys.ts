// The keys a core signs and verifies with, which every instance on a shared store must hold: the CA
// (from `<data>/ca`, $IMPRINT_CA_DIR, or PEM text in $IMPRINT_CA_KEY and $IMPRINT_CA_CERT) and the
// claim-signing key. The first instance records their fingerprints in the store; any instance with
// other keys refuses to start. This is also the seam for an HSM: a CertificateAuthority whose
// signing calls go to the module instead of a KeyObject (see docs/pairing-storage.md).
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CA_KEY_FILE } from '../ca/ca-key-store.ts';
import { CertificateAuthority } from '../ca/certificate-authority.ts';
import type { FleetKey, PairingStore } from '../pairing-store.ts';
import { PairingSetupError } from '../setup-errors.ts';
import { StoreError } from './store-errors.ts';

export const CA_DIR_ENV = 'IMPRINT_CA_DIR';
export const CA_KEY_ENV = 'IMPRINT_CA_KEY';
export const CA_CERT_ENV = 'IMPRINT_CA_CERT';

export function caDirOf(dataDir: string): string {
  return process.env[CA_DIR_ENV] || join(dataDir, 'ca');
}

export function caFingerprint(ca: CertificateAuthority): string {
  return createHash('sha256').update(ca.certificateDer).digest('hex');
}

/** The CA of this core, checked against the fleet's when the store is shared. */
export async function openCoreCa(
  store: PairingStore,
  dataDir: string,
  now: Date,
  opts: { signingThreads?: number } = {},
): Promise<CertificateAuthority> {
  const keyPem = process.env[CA_KEY_ENV];
  const certPem = process.env[CA_CERT_ENV];
  let ca: CertificateAuthority;
  if (keyPem || certPem) {
    if (!keyPem || !certPem)
      throw new PairingSetupError('INVALID_ARGUMENT', `Set both ${CA_KEY_ENV} and ${CA_CERT_ENV} (PEM text), or neither`);
    ca = CertificateAuthority.fromPem(keyPem, certPem, { key: `$${CA_KEY_ENV}`, cert: `$${CA_CERT_ENV}` }, opts);
  } else {
    const dir = caDirOf(dataDir);
    // A new instance without the CA must not make its own when the fleet already has one.
    if (store.fleetKey && !existsSync(join(dir, CA_KEY_FILE)) && (await store.fleetKey('ca-certificate')))
      throw new StoreError('FLEET_CA_MISSING', `(looked in ${dir})`);
    ca = CertificateAuthority.loadOrCreate(dir, opts);
  }
  try {
    await adoptFleetKey(store, 'ca-certificate', caFingerprint(ca), now);
  } catch (e) {
    await ca.close();
    throw e;
  }
  return ca;
}

export async function adoptFleetKey(store: PairingStore, name: FleetKey, sha256: string, now: Date): Promise<void> {
  await store.adoptKey?.(name, sha256, now.toISOString());
}
