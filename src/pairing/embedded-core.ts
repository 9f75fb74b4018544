// The pairing core in-process: realms, devices and their credentials secrets, certificates.
// Exactly Astarte's Pairing semantics (see docs and pairing-api.ts); the HTTP server only translates.
import { createPublicKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate as isUuid } from 'uuid';
import { isImprintError } from '../common/errors.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { ensurePrivateDir } from '../common/private-fs.ts';
import { CertificateAuthority, type IssuedCertificate } from './ca/certificate-authority.ts';
import { generateCredentialsSecret } from './credentials-secret.ts';
import { canonicalDeviceId, DEFAULT_DEVICE_ID_NAMESPACE } from './device-id.ts';
import {
  astarteTimestamp,
  type DeviceInfo,
  type DeviceStatus,
  type IntrospectionEntry,
  type PairingClient,
  PairingError,
  type RegisterOptions,
  type VerifyCause,
  type VerifyResult,
} from './pairing-api.ts';
import type { DeviceRow, PairingStore, PairingStoreWriter, RealmRow } from './pairing-store.ts';
import { hashSecret, verifySecret } from './secret-hash.ts';
import { SqlitePairingStore } from './sqlite-store.ts';

export const PAIRING_CORE_VERSION: string = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
).version;

export const DEFAULT_BROKER_URL = 'mqtts://localhost:8883/';

export interface RealmConfig {
  name: string;
  publicKeyPem: string;
  brokerUrl: string;
  deviceRegistrationLimit?: number;
  /** UUIDv5 namespace used to derive device ids from serials; default DEFAULT_DEVICE_ID_NAMESPACE. */
  deviceIdNamespace?: string;
  factory?: string;
}

/** What an operator may see of a device: never its secret nor the secret's hash. */
export interface DeviceRecord {
  realm: string;
  deviceId: string;
  status: DeviceStatus;
  registered: boolean;
  inhibited: boolean;
  firstRegistrationAt?: string;
  lastRegistrationAt?: string;
  firstCredentialsRequestAt?: string;
  lastCredentialsRequestAt?: string;
  certificateSerial?: string;
  certificateNotAfter?: string;
  initialIntrospection?: Record<string, IntrospectionEntry>;
}

const REALM_NAME = /^[a-z][a-z0-9]{0,47}$/;
const RESERVED_REALM_NAMES = new Set(['astarte', 'system']);
const ACCEPTED_KEY_TYPES = new Set(['rsa', 'rsa-pss', 'ec']);
const CRL_VALIDITY_MS = 7 * 24 * 3600 * 1000;
const CRL_REFRESH_MS = 24 * 3600 * 1000;

const errors = {
  realmNotFound: () => new PairingError('REALM_NOT_FOUND', 403, 'Forbidden'),
  deviceNotFound: () => new PairingError('DEVICE_NOT_FOUND', 404, 'Device not found'),
  forbidden: () => new PairingError('FORBIDDEN', 403, 'Forbidden'),
  alreadyRegistered: () => new PairingError('ALREADY_REGISTERED', 422, 'Device already registered'),
  inhibited: () => new PairingError('DEVICE_INHIBITED', 403, 'Device is inhibited: credentials requests are refused'),
  limit: (limit: number) =>
    new PairingError('REGISTRATION_LIMIT', 422, `The realm's device registration limit (${limit}) has been reached`),
  validation: (fields: Record<string, string[]>) =>
    new PairingError('VALIDATION', 422, `Invalid ${Object.keys(fields).join(', ')}`, { fields }),
};

function deviceIdOf(id: string, allowLonger: boolean): string {
  try {
    return canonicalDeviceId(id, { allowLonger });
  } catch (e) {
    throw new PairingError('INVALID_DEVICE_ID', 422, isImprintError(e) ? e.message : 'Invalid device id', { cause: e });
  }
}

function statusOf(d: DeviceRow): DeviceStatus {
  if (d.inhibited) return 'inhibited';
  return d.firstCredentialsRequestAt ? 'confirmed' : 'pending';
}

function toRealmConfig(r: RealmRow): RealmConfig {
  const cfg: RealmConfig = { name: r.name, publicKeyPem: r.publicKeyPem, brokerUrl: r.brokerUrl };
  if (r.deviceRegistrationLimit !== null) cfg.deviceRegistrationLimit = r.deviceRegistrationLimit;
  cfg.deviceIdNamespace = r.deviceIdNamespace;
  if (r.factory !== null) cfg.factory = r.factory;
  return cfg;
}

function toDeviceRecord(d: DeviceRow): DeviceRecord {
  const rec: DeviceRecord = {
    realm: d.realm,
    deviceId: d.deviceId,
    status: statusOf(d),
    registered: d.secretHash !== null,
    inhibited: d.inhibited,
  };
  if (d.firstRegistrationAt) rec.firstRegistrationAt = d.firstRegistrationAt;
  if (d.lastRegistrationAt) rec.lastRegistrationAt = d.lastRegistrationAt;
  if (d.firstCredentialsRequestAt) rec.firstCredentialsRequestAt = d.firstCredentialsRequestAt;
  if (d.lastCredentialsRequestAt) rec.lastCredentialsRequestAt = d.lastCredentialsRequestAt;
  if (d.certificateSerial) rec.certificateSerial = d.certificateSerial;
  if (d.certificateNotAfter) rec.certificateNotAfter = d.certificateNotAfter;
  if (d.initialIntrospection) rec.initialIntrospection = d.initialIntrospection;
  return rec;
}

export function emptyDevice(realm: string, deviceId: string): DeviceRow {
  return {
    realm,
    deviceId,
    secretHash: null,
    inhibited: false,
    firstRegistrationAt: null,
    lastRegistrationAt: null,
    firstCredentialsRequestAt: null,
    lastCredentialsRequestAt: null,
    certificateSerial: null,
    certificateNotAfter: null,
    initialIntrospection: null,
  };
}

/** Astarte's changeset for initial_introspection (DeviceRegistrationRequest): its field messages, its rules. */
function validateIntrospection(intro: unknown): Record<string, IntrospectionEntry> | null {
  if (intro === undefined || intro === null) return null;
  if (typeof intro !== 'object' || Array.isArray(intro)) throw errors.validation({ initial_introspection: ['is invalid'] });
  const problems: string[] = [];
  for (const [name, v] of Object.entries(intro as Record<string, unknown>)) {
    const e = v as { major?: unknown; minor?: unknown } | null;
    if (typeof e !== 'object' || e === null || !Number.isInteger(e.major) || !Number.isInteger(e.minor))
      problems.push(`has invalid format for interface ${name}`);
    else if ((e.major as number) < 0 || (e.minor as number) < 0) problems.push(`has negative versions in interface ${name}`);
  }
  if (problems.length) throw errors.validation({ initial_introspection: problems });
  const out: Record<string, IntrospectionEntry> = {};
  for (const [name, e] of Object.entries(intro as Record<string, IntrospectionEntry>))
    out[name] = { major: e.major, minor: e.minor };
  return out;
}

/** A random positive 128-bit serial with no leading zero byte (RFC 5280: at most 20 octets). */
export function newSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x40;
  return b.toString('hex');
}

/**
 * What features built on the core in its own database and CA use (claim tokens, Foundries /sign): their
 * tables are prepared on the store's connection and written in the same transactions as the device rows.
 */
export interface PairingCoreExtension {
  write<T>(op: (tx: PairingStoreWriter) => T): Promise<T>;
  prepare<T>(prepare: (db: import('better-sqlite3').Database) => T): T;
  ca: CertificateAuthority;
  now(): Date;
  /** The realm, or PairingError REALM_NOT_FOUND. */
  realm(name: string): RealmConfig;
}

export interface EmbeddedCoreOptions {
  dataDir: string;
  logger?: Logger;
  defaultBrokerUrl?: string;
  now?: () => Date;
  /** Durability of the store; FULL is the only setting (an acknowledged write survives power loss). */
  synchronous?: 'FULL';
  /** The OCSP responder URL of a realm, written into its certificates (`pairing serve` knows its public URL). */
  ocspUrl?: (realm: string) => string | undefined;
}

export class EmbeddedPairingCore implements PairingClient {
  readonly kind = 'embedded' as const;
  readonly url = undefined;
  readonly version = PAIRING_CORE_VERSION;
  readonly #store: PairingStore;
  readonly #ca: CertificateAuthority;
  readonly #log: Logger;
  readonly #now: () => Date;
  readonly #defaultBrokerUrl: string;
  readonly #ocspUrl: (realm: string) => string | undefined;
  // Realms are few and read on every request: keep them in memory (a miss re-reads the store, so
  // a realm created by another process, e.g. the CLI, becomes visible).
  readonly #realms = new Map<string, RealmConfig>();
  #crlCache: { pem: string; der: Buffer; revocations: number; at: number } | undefined;

  static open(opts: EmbeddedCoreOptions): EmbeddedPairingCore {
    ensurePrivateDir(opts.dataDir);
    const store = SqlitePairingStore.open(join(opts.dataDir, 'pairing.sqlite'));
    let ca: CertificateAuthority;
    try {
      ca = CertificateAuthority.loadOrCreate(join(opts.dataDir, 'ca'));
    } catch (e) {
      void store.close();
      throw e;
    }
    return new EmbeddedPairingCore(store, ca, opts);
  }

  constructor(store: PairingStore, ca: CertificateAuthority, opts: Omit<EmbeddedCoreOptions, 'dataDir'> = {}) {
    this.#store = store;
    this.#ca = ca;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'pairing-core' });
    this.#now = opts.now ?? (() => new Date());
    this.#defaultBrokerUrl = opts.defaultBrokerUrl ?? DEFAULT_BROKER_URL;
    this.#ocspUrl = opts.ocspUrl ?? (() => undefined);
  }

  // ---- realms -------------------------------------------------------------------------------

  createRealm(cfg: Omit<RealmConfig, 'brokerUrl'> & { brokerUrl?: string }): RealmConfig {
    const fields: Record<string, string[]> = {};
    const name = cfg?.name;
    if (typeof name !== 'string' || !REALM_NAME.test(name)) {
      fields.name = ['must start with a lowercase letter and contain only lowercase letters and digits (at most 48)'];
    } else if (RESERVED_REALM_NAMES.has(name)) {
      fields.name = ['is reserved'];
    } else if (this.getRealm(name)) {
      fields.name = ['has already been taken'];
    }
    let publicKeyPem = '';
    try {
      publicKeyPem = String(cfg.publicKeyPem ?? '').trim();
      if (!/^-----BEGIN (RSA )?PUBLIC KEY-----/.test(publicKeyPem)) throw new Error('not a public key PEM');
      const key = createPublicKey(publicKeyPem);
      if (!ACCEPTED_KEY_TYPES.has(key.asymmetricKeyType ?? '')) throw new Error('unsupported key type');
      publicKeyPem = `${publicKeyPem}\n`;
    } catch {
      fields.public_key_pem = ['must be an RSA or EC public key in PEM format'];
    }
    const brokerUrl = cfg.brokerUrl ?? this.#defaultBrokerUrl;
    if (typeof brokerUrl !== 'string' || !URL.canParse(brokerUrl) || !new URL(brokerUrl).host) {
      fields.broker_url = ['must be an absolute URL such as mqtts://broker.example.com:8883/'];
    }
    const limit = cfg.deviceRegistrationLimit;
    if (limit !== undefined && limit !== null && !(Number.isSafeInteger(limit) && limit >= 0)) {
      fields.device_registration_limit = ['must be a non-negative integer'];
    }
    const namespace = cfg.deviceIdNamespace ?? DEFAULT_DEVICE_ID_NAMESPACE;
    if (typeof namespace !== 'string' || !isUuid(namespace)) fields.device_id_namespace = ['must be a UUID'];
    if (cfg.factory !== undefined && (typeof cfg.factory !== 'string' || cfg.factory.length > 200)) {
      fields.factory = ['must be a string of at most 200 characters'];
    }
    if (Object.keys(fields).length) throw errors.validation(fields);

    try {
      this.#store.createRealm({
        name,
        publicKeyPem,
        brokerUrl,
        deviceRegistrationLimit: limit ?? null,
        deviceIdNamespace: namespace.toLowerCase(),
        factory: cfg.factory ?? null,
        createdAt: this.#now().toISOString(),
      });
    } catch (e) {
      // Another process (e.g. a second CLI) created it since the check above.
      if (this.#store.getRealm(name)) throw errors.validation({ name: ['has already been taken'] });
      throw e;
    }
    this.#realms.delete(name);
    this.#log.info({ realm: name }, 'realm created');
    return this.getRealm(name)!;
  }

  getRealm(name: string): RealmConfig | undefined {
    const cached = this.#realms.get(name);
    if (cached) return cached;
    const row = this.#store.getRealm(name);
    if (!row) return undefined;
    const cfg = toRealmConfig(row);
    this.#realms.set(name, cfg);
    return cfg;
  }

  listRealms(): RealmConfig[] {
    return this.#store.listRealms().map(toRealmConfig);
  }

  #requireRealm(name: string): RealmConfig {
    const realm = typeof name === 'string' ? this.getRealm(name) : undefined;
    if (!realm) throw errors.realmNotFound();
    return realm;
  }

  // ---- agent API ----------------------------------------------------------------------------

  async registerDevice(realm: string, hwId: string, opts: RegisterOptions = {}): Promise<{ credentialsSecret: string }> {
    const cfg = this.#requireRealm(realm);
    const deviceId = deviceIdOf(hwId, true);
    const introspection = validateIntrospection(opts.initialIntrospection);
    const credentialsSecret = generateCredentialsSecret();
    const secretHash = hashSecret(credentialsSecret);
    // Checks run inside the write so that concurrent registrations see each other (serial order).
    await this.#store.write((tx) => {
      const existing = tx.getDevice(realm, deviceId);
      if (existing?.firstCredentialsRequestAt) throw errors.alreadyRegistered();
      // As Astarte: a device the realm knows may always register again; only new ones need a place.
      const limit = cfg.deviceRegistrationLimit;
      if (!existing && limit !== undefined && tx.countDevices(realm) >= limit) throw errors.limit(limit);
      const now = this.#now().toISOString();
      const base = existing ?? emptyDevice(realm, deviceId);
      tx.putDevice({
        ...base,
        secretHash,
        // As Astarte: (re-)registration lifts a credentials inhibition.
        inhibited: false,
        firstRegistrationAt: base.firstRegistrationAt ?? now,
        lastRegistrationAt: now,
        initialIntrospection: introspection,
      });
    });
    this.#log.debug({ realm, deviceId }, 'device registered');
    return { credentialsSecret };
  }

  async unregisterDevice(realm: string, deviceId: string): Promise<void> {
    this.#requireRealm(realm);
    const id = deviceIdOf(deviceId, false);
    await this.#store.write((tx) => {
      const d = tx.getDevice(realm, id);
      if (!d) throw errors.deviceNotFound();
      // As Astarte: the secret goes and registration re-opens; the device row and its history stay.
      tx.putDevice({ ...d, secretHash: null, firstCredentialsRequestAt: null });
    });
    this.#log.debug({ realm, deviceId: id }, 'device unregistered');
  }

  // ---- device API ---------------------------------------------------------------------------

  async #authenticate(realm: string, hwId: string, secret: string): Promise<{ cfg: RealmConfig; device: DeviceRow }> {
    const cfg = this.#requireRealm(realm);
    const deviceId = deviceIdOf(hwId, true);
    const device = this.#store.getDevice(realm, deviceId);
    if (!device) throw errors.deviceNotFound();
    const check = verifySecret(secret, device.secretHash);
    const ok = typeof check === 'boolean' ? check : await check;
    if (!ok) throw errors.forbidden();
    return { cfg, device };
  }

  async getInfo(realm: string, hwId: string, credentialsSecret: string): Promise<DeviceInfo> {
    const { cfg, device } = await this.#authenticate(realm, hwId, credentialsSecret);
    return {
      version: PAIRING_CORE_VERSION,
      status: statusOf(device),
      protocols: { astarte_mqtt_v1: { broker_url: cfg.brokerUrl } },
    };
  }

  async requestCredentials(
    realm: string,
    hwId: string,
    credentialsSecret: string,
    csrPem: string,
  ): Promise<{ clientCrt: string }> {
    const { device } = await this.#authenticate(realm, hwId, credentialsSecret);
    if (device.inhibited) throw errors.inhibited();
    if (typeof csrPem !== 'string' || csrPem.length === 0) throw new PairingError('INVALID_CSR', 422, 'Invalid CSR: empty');
    const serialHex = newSerialHex();
    let issued: IssuedCertificate;
    try {
      // On libuv's pool: CSR check and signing leave the event loop free for other requests.
      issued = await this.#ca.issueAsync({
        csrPem,
        commonName: `${realm}/${device.deviceId}`,
        serialHex,
        now: this.#now(),
        ocspUrl: this.#ocspUrl(realm),
      });
    } catch (e) {
      if (isImprintError(e) && e.code === 'INVALID_CSR') throw new PairingError('INVALID_CSR', 422, e.message, { cause: e });
      throw e;
    }
    await this.#store.write((tx) => {
      const d = tx.getDevice(realm, device.deviceId);
      // Unregistered or re-registered while the certificate was being made: the secret is stale.
      if (!d || d.secretHash !== device.secretHash) throw errors.forbidden();
      if (d.inhibited) throw errors.inhibited();
      const now = this.#now().toISOString();
      if (d.certificateSerial) tx.revokeCertificate(d.certificateSerial, now, 'superseded');
      const notAfter = issued.notAfter.toISOString();
      tx.recordCertificate({ serialHex: issued.serialHex, realm, deviceId: d.deviceId, issuedAt: now, notAfter });
      tx.putDevice({
        ...d,
        firstCredentialsRequestAt: d.firstCredentialsRequestAt ?? now,
        lastCredentialsRequestAt: now,
        certificateSerial: issued.serialHex.toLowerCase(),
        certificateNotAfter: notAfter,
      });
    });
    this.#log.debug({ realm, deviceId: device.deviceId, serial: issued.serialHex }, 'certificate issued');
    return { clientCrt: issued.pem };
  }

  async verifyCredentials(realm: string, hwId: string, credentialsSecret: string, clientCrtPem: string): Promise<VerifyResult> {
    const { device } = await this.#authenticate(realm, hwId, credentialsSecret);
    const now = this.#now();
    const timestamp = astarteTimestamp(now);
    const invalid = (cause: VerifyCause): VerifyResult => ({
      valid: false,
      timestamp,
      cause,
      details: null,
    });
    if (typeof clientCrtPem !== 'string' || clientCrtPem.length === 0) return invalid('INVALID');
    const checked = this.#ca.check(clientCrtPem, now);
    if (!checked.ok) return invalid(checked.cause);
    if (checked.commonName !== `${realm}/${device.deviceId}`) return invalid('INVALID');
    if (this.#store.isRevoked(checked.serialHex)) return invalid('REVOKED');
    return { valid: true, timestamp, until: astarteTimestamp(checked.notAfter) };
  }

  // ---- extensions ---------------------------------------------------------------------------

  extension(): PairingCoreExtension {
    const store = this.#store;
    if (!store.prepareExtension) throw new PairingError('BAD_REQUEST', 400, 'This pairing store has no extension tables');
    return {
      write: (op) => store.write(op),
      prepare: (build) => store.prepareExtension!(build),
      ca: this.#ca,
      now: () => this.#now(),
      realm: (name) => this.#requireRealm(name),
    };
  }

  // ---- administration -----------------------------------------------------------------------

  async setInhibited(realm: string, deviceId: string, inhibited: boolean): Promise<void> {
    this.#requireRealm(realm);
    const id = deviceIdOf(deviceId, true);
    await this.#store.write((tx) => {
      const d = tx.getDevice(realm, id);
      if (!d) throw errors.deviceNotFound();
      tx.putDevice({ ...d, inhibited: Boolean(inhibited) });
    });
    this.#log.info({ realm, deviceId: id, inhibited: Boolean(inhibited) }, 'device inhibition changed');
  }

  showDevice(realm: string, deviceId: string): DeviceRecord {
    this.#requireRealm(realm);
    const d = this.#store.getDevice(realm, deviceIdOf(deviceId, true));
    if (!d) throw errors.deviceNotFound();
    return toDeviceRecord(d);
  }

  // ---- certificate authority ----------------------------------------------------------------

  caCertificatePem(): string {
    return this.#ca.certificatePem;
  }

  /** The CRL (all revoked certificates), regenerated when a revocation happens or daily. */
  crl(): { pem: string; der: Buffer } {
    const revocations = this.#store.revocationCount();
    const now = this.#now();
    const cached = this.#crlCache;
    if (cached && cached.revocations === revocations && now.getTime() - cached.at < CRL_REFRESH_MS) return cached;
    const revoked = this.#store
      .listRevoked()
      .map((r) => ({ serialHex: r.serialHex, revokedAt: new Date(r.revokedAt), reason: r.reason }));
    // Increases with every new CRL (RFC 5280): revocations in the high bits, then the issuing second.
    const crlNumber = (BigInt(revocations) << 32n) | BigInt(Math.floor(now.getTime() / 1000));
    const crl = this.#ca.crl(revoked, {
      crlNumber,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + CRL_VALIDITY_MS),
    });
    this.#crlCache = { ...crl, revocations, at: now.getTime() };
    return crl;
  }

  crlPem(): string {
    return this.crl().pem;
  }

  /** The OCSP answer (DER) for a realm: certificates of other realms are `unknown` there. */
  async ocspResponse(realm: string, requestDer: Buffer): Promise<Buffer> {
    this.#requireRealm(realm);
    return this.#ca.ocspResponse(
      requestDer,
      async (serialHex) => {
        const c = await this.#store.getCertificate(serialHex);
        if (!c || c.realm !== realm) return { status: 'unknown' };
        if (c.revokedAt && c.reason) return { status: 'revoked', revokedAt: new Date(c.revokedAt), reason: c.reason };
        return { status: 'good' };
      },
      { now: this.#now() },
    );
  }

  /** Readiness for /health: the store answers a read. */
  async ready(): Promise<boolean> {
    try {
      await this.#store.getRealm('');
      return true;
    } catch {
      return false;
    }
  }

  /** Store figures for metrics: durability setting, committed batches and writes (group commit). */
  storeStats(): { durability: string; batches: number; writes: number } {
    return { durability: this.#store.durability(), ...this.#store.commitStats() };
  }

  async close(): Promise<void> {
    await this.#store.close();
  }
}
