// Sealed write-ahead records of pending secrets. Between registration and the device confirming
// the write, a secret exists only in memory and here: AES-256-GCM under a station key that lives
// in its own file (mode 0600) outside the database, so a copy of station.db reveals nothing.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { secretFingerprint } from '../common/secret-fingerprint.ts';
import { secretDigest } from '../serial/device-types.ts';
import type { NewVaultRow, StationDb, VaultRow, WrittenDevice } from './station-db.ts';
import { StationError } from './station-errors.ts';

const FORMAT_V1 = 1;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface PendingSecretInput {
  deviceId: string;
  hardwareSerial: string;
  fixture: string;
  devicePort?: string;
  batchId?: string;
  operator?: string;
  realm?: string;
  simulated?: boolean;
}

export interface PendingSecret {
  vaultId: number;
  digest: string;
  fingerprint: string;
}

/** Load the station key, creating it (0600, fsynced) on first use. Refuses a key others can read. */
export function loadOrCreateStationKey(keyFile: string, opts: { create: boolean }): Buffer {
  if (existsSync(keyFile)) {
    const mode = statSync(keyFile).mode & 0o777;
    if (mode & 0o077) {
      throw new StationError('VAULT_KEY_INSECURE', `${keyFile}, mode ${mode.toString(8)}: run chmod 600 ${keyFile}`);
    }
    const key = readFileSync(keyFile);
    if (key.length !== KEY_BYTES) {
      throw new StationError('VAULT_KEY_INVALID', `${keyFile} holds ${key.length} bytes`);
    }
    return key;
  }
  if (!opts.create) {
    throw new StationError('VAULT_KEY_MISSING', keyFile);
  }
  ensurePrivateDir(dirname(keyFile));
  const key = randomBytes(KEY_BYTES);
  const fd = openSync(keyFile, 'wx', 0o600);
  try {
    writeSync(fd, key);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return key;
}

function aad(deviceId: string, digest: string): Buffer {
  return Buffer.from(`imprint-vault-v1\0${deviceId}\0${digest}`, 'utf8');
}

export class SecretVault {
  private readonly key: Buffer;
  private readonly db: StationDb;

  private constructor(key: Buffer, db: StationDb) {
    this.key = key;
    this.db = db;
  }

  static open(opts: { keyFile: string; db: StationDb }): SecretVault {
    // A missing key is only created when nothing sealed under an old key is waiting.
    const key = loadOrCreateStationKey(opts.keyFile, { create: opts.db.vaultCount() === 0 });
    return new SecretVault(key, opts.db);
  }

  /**
   * Seal and commit the record durably (synchronous=FULL). Await it BEFORE the write command is
   * sent: once it resolves, a crash at any later point can be recovered from the device's digest.
   */
  async put(input: PendingSecretInput, credentialsSecret: string): Promise<PendingSecret> {
    const { row, digest, fingerprint } = this.seal(input, credentialsSecret);
    const vaultId = await this.db.insertVaultRecord(row);
    return { vaultId, digest, fingerprint };
  }

  /** put() on the calling thread (tests and tools). */
  putSync(input: PendingSecretInput, credentialsSecret: string): PendingSecret {
    const { row, digest, fingerprint } = this.seal(input, credentialsSecret);
    return { vaultId: this.db.insertVaultRecordSync(row), digest, fingerprint };
  }

  private seal(input: PendingSecretInput, credentialsSecret: string): { row: NewVaultRow; digest: string; fingerprint: string } {
    const digest = secretDigest(credentialsSecret);
    const fingerprint = secretFingerprint(credentialsSecret);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(aad(input.deviceId, digest));
    const ct = Buffer.concat([cipher.update(credentialsSecret, 'utf8'), cipher.final()]);
    const sealed = Buffer.concat([Buffer.of(FORMAT_V1), iv, cipher.getAuthTag(), ct]);
    return { row: { ...input, sealed, digest, fingerprint, createdAt: new Date().toISOString() }, digest, fingerprint };
  }

  /** Open a sealed record (recovery re-sends nothing, but a resumed write needs the secret). */
  reveal(row: VaultRow): string {
    const sealed = row.sealed;
    if (sealed.length < 1 + IV_BYTES + TAG_BYTES || sealed[0] !== FORMAT_V1) {
      throw new StationError('VAULT_RECORD_INVALID', `record ${row.id} has an unknown format`);
    }
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const ct = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(aad(row.deviceId, row.digest));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    } catch {
      throw new StationError('VAULT_RECORD_INVALID', `record ${row.id} does not open with this station key`);
    }
  }

  /** The device confirmed the write: wipe the record and enter the device as written, atomically. */
  confirm(vaultId: number | undefined, registry: WrittenDevice): void {
    this.db.confirmWritten(vaultId, registry);
  }

  discard(vaultId: number): void {
    this.db.deleteVaultRecord(vaultId);
  }

  discardForDevice(deviceId: string): number {
    return this.db.deleteVaultRecordsForDevice(deviceId);
  }

  pending(): VaultRow[] {
    return this.db.vaultRecords();
  }

  pendingByDigest(digest: string): VaultRow | undefined {
    return this.db.vaultRecordByDigest(digest);
  }
}
