// The pairing core: realms, devices and their credentials secrets, certificates. Exactly Astarte's
// Pairing semantics (see docs and pairing-api.ts); the HTTP server only translates. In-process for
// a station (embedded SQLite store), or one of many stateless instances over a shared PostgreSQL
// store: every rule is decided inside the store's transaction, so it holds across instances.
import { createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { validate as isUuid } from 'uuid';
import { canonicalDeviceId, DEFAULT_DEVICE_ID_NAMESPACE } from '../common/device-id.ts';
import { isImprintError } from '../common/errors.ts';
import { type Logger, silentLogger } from '../common/logger.ts';
import { pooledRandomBytes } from '../common/random-pool.ts';
import type { CertificateAuthority } from './ca/certificate-authority.ts';
import { generateCredentialsSecret } from './credentials-secret.ts';
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
import type { DeviceRow, FleetKey, PairingStore, RealmRow, StoreHealth } from './pairing-store.ts';
import { hashSecret, verifySecret } from './secret-hash.ts';
import { adoptFleetKey, openCoreCa } from './store/fleet-keys.ts';
import { openPairingStore } from './store/open-store.ts';

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
/** How long an unknown realm name is remembered as unknown (a miss costs a store query). */
const UNKNOWN_REALM_TTL_MS = 1000;
/**
 * On a shared store, how often the CRL asks whether another instance revoked something: the bound
 * within which the CRL shows a revocation made elsewhere (one made here shows at once; verify's
 * REVOKED always reads the store).
 */
export const SHARED_CRL_CHECK_MS = 1000;

const errors = {
  realmNotFound: () => new PairingError('REALM_NOT_FOUND'),
  deviceNotFound: () => new PairingError('DEVICE_NOT_FOUND'),
  forbidden: () => new PairingError('FORBIDDEN'),
  alreadyRegistered: () => new PairingError('ALREADY_REGISTERED'),
  inhibited: () => new PairingError('DEVICE_INHIBITED'),
  limit: (limit: number) =>
    new PairingError('REGISTRATION_LIMIT', { message: `The realm's device registration limit (${limit}) has been reached` }),
  validation: (fields: Record<string, string[]>) =>
    new PairingError('VALIDATION', { message: `Invalid ${Object.keys(fields).join(', ')}`, fields }),
};

function deviceIdOf(id: string, allowLonger: boolean): string {
  try {
    return canonicalDeviceId(id, { allowLonger });
  } catch (e) {
    throw new PairingError('INVALID_DEVICE_ID', { message: isImprintError(e) ? e.message : undefined, cause: e });
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

/**
 * A positive 128-bit certificate serial with no leading zero byte (RFC 5280: at most 20 octets): 0x40, the
 * time of issue in ms (6 octets), then 72 random bits. Serials stay unpredictable (more than the 64 random
 * bits CA/B Forum asks for) and come in time order, so a new certificate's row goes at the end of the
 * certificates B-tree (SQLite and PostgreSQL): a commit's certificates share its last page instead of each
 * dirtying, and once the table outgrows the cache reading, a random leaf.
 */
export function newSerialHex(now: number = Date.now()): string {
  const b = pooledRandomBytes(16);
  b[0] = 0x40;
  b.writeUIntBE(now, 1, 6);
  return b.toString('hex');
}

/**
 * What features built on the core use (claim tokens, Foundries /sign, imports, central audit): the
 * stores of their own tables (whose operations write device rows in the same transaction) and the CA.
 */
export interface PairingCoreExtension {
  store: Pick<PairingStore, 'devices' | 'claims' | 'signs' | 'imports' | 'centralAudit' | 'coreAudit'>;
  ca: CertificateAuthority;
  now(): Date;
  /** The realm, or PairingError REALM_NOT_FOUND. */
  realm(name: string): Promise<RealmConfig>;
  /** Records or checks a key every instance must share (shared stores only). */
  adoptKey(name: FleetKey, sha256: string): Promise<void>;
  /** A certificate was issued (and maybe one revoked) here: the next CRL is made afresh. */
  revokedHere(): void;
}

export interface EmbeddedCoreOptions {
  /** Keys (ca/, claim-signing-key.pem) and, without `store`, the embedded SQLite store. */
  dataDir: string;
  /** A postgres:// URL: the shared store of a fleet (default: the embedded SQLite store in `dataDir`). */
  store?: string;
  /** Connections of the PostgreSQL pool. */
  poolSize?: number;
  logger?: Logger;
  defaultBrokerUrl?: string;
  now?: () => Date;
  /** The OCSP responder URL of a realm, written into its certificates (`pairing serve` knows its public URL). */
  ocspUrl?: (realm: string) => string | undefined;
  /** How often a shared store's CRL is checked for revocations made elsewhere (default SHARED_CRL_CHECK_MS). */
  crlCheckMs?: number;
  /** Threads for CSR checks and signing when the event loop is saturated (0: none; default: cores − 1, 1 to 4). */
  signingThreads?: number;
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
  readonly #crlCheckMs: number;
  // Realms are few, never deleted and read on every request: kept in memory once seen. A name not
  // found is remembered briefly, so a realm created by another process (the CLI, another instance)
  // is found within UNKNOWN_REALM_TTL_MS while unknown names cannot make every request query the store.
  readonly #realms = new Map<string, RealmConfig>();
  readonly #unknownRealms = new Map<string, number>();
  #crlCache: { pem: string; der: Buffer; revocations: number; at: number; checkedAt: number } | undefined;
  #crlStale = false;
  #crlPending: Promise<{ pem: string; der: Buffer }> | undefined;

  /** Opens the store (`store` URL, else the embedded one in `dataDir`) and the CA, and loads the realms. */
  static async open(opts: EmbeddedCoreOptions): Promise<EmbeddedPairingCore> {
    const store = await openPairingStore({ dataDir: opts.dataDir, store: opts.store, poolSize: opts.poolSize });
    try {
      const ca = await openCoreCa(store, opts.dataDir, (opts.now ?? (() => new Date()))(), {
        signingThreads: opts.signingThreads,
      });
      const core = new EmbeddedPairingCore(store, ca, opts);
      await core.#loadRealms();
      return core;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  constructor(store: PairingStore, ca: CertificateAuthority, opts: Omit<EmbeddedCoreOptions, 'dataDir'> = {}) {
    this.#store = store;
    this.#ca = ca;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'pairing-core' });
    this.#now = opts.now ?? (() => new Date());
    this.#defaultBrokerUrl = opts.defaultBrokerUrl ?? DEFAULT_BROKER_URL;
    this.#ocspUrl = opts.ocspUrl ?? (() => undefined);
    this.#crlCheckMs = store.engine === 'sqlite' ? 0 : (opts.crlCheckMs ?? SHARED_CRL_CHECK_MS);
  }

  /** sqlite (embedded) or postgres (shared by a fleet). */
  get storeEngine(): PairingStore['engine'] {
    return this.#store.engine;
  }

  // ---- realms -------------------------------------------------------------------------------

  async #loadRealms(): Promise<void> {
    for (const r of await this.#store.realms.list()) this.#realms.set(r.name, toRealmConfig(r));
  }

  async createRealm(cfg: Omit<RealmConfig, 'brokerUrl'> & { brokerUrl?: string }): Promise<RealmConfig> {
    const fields: Record<string, string[]> = {};
    const name = cfg?.name;
    if (typeof name !== 'string' || !REALM_NAME.test(name)) {
      fields.name = ['must start with a lowercase letter and contain only lowercase letters and digits (at most 48)'];
    } else if (RESERVED_REALM_NAMES.has(name)) {
      fields.name = ['is reserved'];
    } else if (await this.realm(name)) {
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

    const created = await this.#store.realms.create({
      name,
      publicKeyPem,
      brokerUrl,
      deviceRegistrationLimit: limit ?? null,
      deviceIdNamespace: namespace.toLowerCase(),
      factory: cfg.factory ?? null,
      createdAt: this.#now().toISOString(),
    });
    // Another process (a second CLI, another instance) created it since the check above.
    if (!created) throw errors.validation({ name: ['has already been taken'] });
    this.#unknownRealms.delete(name);
    this.#log.info({ realm: name }, 'realm created');
    return (await this.realm(name))!;
  }

  /** A realm this core has seen (synchronous: no store query). */
  getRealm(name: string): RealmConfig | undefined {
    return this.#realms.get(name);
  }

  /** The realm, from memory or else from the store (a realm created elsewhere is found). */
  async realm(name: string): Promise<RealmConfig | undefined> {
    const known = this.#realms.get(name);
    if (known || typeof name !== 'string') return known;
    const missedAt = this.#unknownRealms.get(name);
    if (missedAt !== undefined && Date.now() - missedAt < UNKNOWN_REALM_TTL_MS) return undefined;
    const row = await this.#store.realms.get(name);
    if (!row) {
      if (this.#unknownRealms.size >= 1000) this.#unknownRealms.clear();
      this.#unknownRealms.set(name, Date.now());
      return undefined;
    }
    const cfg = toRealmConfig(row);
    this.#realms.set(name, cfg);
    return cfg;
  }

  async listRealms(): Promise<RealmConfig[]> {
    return (await this.#store.realms.list()).map(toRealmConfig);
  }

  async #requireRealm(name: string): Promise<RealmConfig> {
    const realm = this.#realms.get(name) ?? (await this.realm(name));
    if (!realm) throw errors.realmNotFound();
    return realm;
  }

  // ---- agent API ----------------------------------------------------------------------------

  async registerDevice(realm: string, hwId: string, opts: RegisterOptions = {}): Promise<{ credentialsSecret: string }> {
    const cfg = await this.#requireRealm(realm);
    const deviceId = deviceIdOf(hwId, true);
    const introspection = validateIntrospection(opts.initialIntrospection);
    const credentialsSecret = generateCredentialsSecret();
    // Decided in the store's transaction, so concurrent registrations (on any instance) see each other.
    const outcome = await this.#store.devices.register({
      realm,
      deviceId,
      secretHash: hashSecret(credentialsSecret),
      initialIntrospection: introspection,
      at: this.#now().toISOString(),
    });
    if (outcome === 'confirmed') throw errors.alreadyRegistered();
    if (outcome === 'limit') throw errors.limit(cfg.deviceRegistrationLimit ?? 0);
    this.#log.debug({ realm, deviceId }, 'device registered');
    return { credentialsSecret };
  }

  async unregisterDevice(realm: string, deviceId: string): Promise<void> {
    await this.#requireRealm(realm);
    const id = deviceIdOf(deviceId, false);
    // As Astarte: the secret goes and registration re-opens; the device row and its history stay.
    if (!(await this.#store.devices.unregister(realm, id))) throw errors.deviceNotFound();
    this.#log.debug({ realm, deviceId: id }, 'device unregistered');
  }

  // ---- device API ---------------------------------------------------------------------------

  async #authenticate(realm: string, hwId: string, secret: string): Promise<{ cfg: RealmConfig; device: DeviceRow }> {
    const cfg = await this.#requireRealm(realm);
    const deviceId = deviceIdOf(hwId, true);
    const device = await this.#store.devices.get(realm, deviceId);
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
    if (typeof csrPem !== 'string' || csrPem.length === 0)
      throw new PairingError('INVALID_CSR', { message: 'Invalid CSR: empty' });
    // The CA checks the CSR (proof of possession) and signs; a CSR it refuses is PairingError INVALID_CSR.
    const issued = await this.#ca.issueAsync({
      csrPem,
      commonName: `${realm}/${device.deviceId}`,
      serialHex: newSerialHex(),
      now: this.#now(),
      ocspUrl: this.#ocspUrl(realm),
    });
    // Recorded only if the secret is still the one shown (not unregistered or re-registered meanwhile,
    // on any instance); the previous certificate is revoked in the same transaction.
    const outcome = await this.#store.devices.recordCredentials({
      realm,
      deviceId: device.deviceId,
      secretHash: device.secretHash ?? '',
      serialHex: issued.serialHex,
      notAfter: issued.notAfter.toISOString(),
      at: this.#now().toISOString(),
    });
    if (outcome === 'stale') throw errors.forbidden();
    if (outcome === 'inhibited') throw errors.inhibited();
    if (device.certificateSerial) this.#crlStale = true;
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
    // Always the store: a revocation made on any instance counts at once.
    if (await this.#store.certificates.isRevoked(checked.serialHex)) return invalid('REVOKED');
    return { valid: true, timestamp, until: astarteTimestamp(checked.notAfter) };
  }

  // ---- extensions ---------------------------------------------------------------------------

  extension(): PairingCoreExtension {
    return {
      store: this.#store,
      ca: this.#ca,
      now: () => this.#now(),
      realm: (name) => this.#requireRealm(name),
      adoptKey: (name, sha256) => adoptFleetKey(this.#store, name, sha256, this.#now()),
      revokedHere: () => {
        this.#crlStale = true;
      },
    };
  }

  // ---- administration -----------------------------------------------------------------------

  async setInhibited(realm: string, deviceId: string, inhibited: boolean): Promise<void> {
    await this.#requireRealm(realm);
    const id = deviceIdOf(deviceId, true);
    if (!(await this.#store.devices.setInhibited(realm, id, Boolean(inhibited)))) throw errors.deviceNotFound();
    this.#log.info({ realm, deviceId: id, inhibited: Boolean(inhibited) }, 'device inhibition changed');
  }

  async showDevice(realm: string, deviceId: string): Promise<DeviceRecord> {
    await this.#requireRealm(realm);
    const d = await this.#store.devices.get(realm, deviceIdOf(deviceId, true));
    if (!d) throw errors.deviceNotFound();
    return toDeviceRecord(d);
  }

  // ---- certificate authority ----------------------------------------------------------------

  caCertificatePem(): string {
    return this.#ca.certificatePem;
  }

  /**
   * The CRL (all revoked certificates), made afresh when a revocation happened (here: at once; on
   * another instance of a shared store: seen within crlCheckMs) or daily.
   */
  crl(): Promise<{ pem: string; der: Buffer }> {
    const cached = this.#crlCache;
    const now = this.#now().getTime();
    if (cached && !this.#crlStale && now - cached.checkedAt < this.#crlCheckMs && now - cached.at < CRL_REFRESH_MS)
      return Promise.resolve(cached);
    // Concurrent requests share one check (and one signing).
    this.#crlPending ??= this.#makeCrl().finally(() => {
      this.#crlPending = undefined;
    });
    return this.#crlPending;
  }

  async #makeCrl(): Promise<{ pem: string; der: Buffer }> {
    this.#crlStale = false;
    const revocations = await this.#store.certificates.revocationCount();
    const now = this.#now();
    const cached = this.#crlCache;
    if (cached && cached.revocations === revocations && now.getTime() - cached.at < CRL_REFRESH_MS) {
      cached.checkedAt = now.getTime();
      return cached;
    }
    const revoked = (await this.#store.certificates.listRevoked()).map((r) => ({
      serialHex: r.serialHex,
      revokedAt: new Date(r.revokedAt),
      reason: r.reason,
    }));
    // Increases with every new CRL (RFC 5280): revocations in the high bits, then the issuing second.
    const crlNumber = (BigInt(revocations) << 32n) | BigInt(Math.floor(now.getTime() / 1000));
    const crl = this.#ca.crl(revoked, {
      crlNumber,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + CRL_VALIDITY_MS),
    });
    this.#crlCache = { ...crl, revocations, at: now.getTime(), checkedAt: now.getTime() };
    return crl;
  }

  async crlPem(): Promise<string> {
    return (await this.crl()).pem;
  }

  /** The OCSP answer (DER) for a realm: certificates of other realms are `unknown` there. */
  async ocspResponse(realm: string, requestDer: Buffer): Promise<Buffer> {
    await this.#requireRealm(realm);
    return this.#ca.ocspResponse(
      requestDer,
      async (serialHex) => {
        const c = await this.#store.certificates.get(serialHex);
        if (!c || c.realm !== realm) return { status: 'unknown' };
        if (c.revokedAt && c.reason) return { status: 'revoked', revokedAt: new Date(c.revokedAt), reason: c.reason };
        return { status: 'good' };
      },
      { now: this.#now() },
    );
  }

  // ---- operations ---------------------------------------------------------------------------

  /** Is the store there (the database reachable), and how fast does it answer. */
  health(): Promise<StoreHealth> {
    return this.#store.health();
  }

  /** Commits and the writes they carried (group commit on SQLite), with the durability in force, for metrics. */
  storeStats(): { durability: string; batches: number; writes: number } {
    return { durability: this.#store.durability(), ...this.#store.commitStats() };
  }

  /** Signing jobs done on the event loop and on the signing threads. */
  signingStats(): { inline: number; threaded: number } {
    return this.#ca.signingStats();
  }

  /** The store's Prometheus lines (latency, pool, health). */
  storeMetricsText(): string {
    return this.#store.metricsText();
  }

  durability(): string {
    return this.#store.durability();
  }

  async close(): Promise<void> {
    await this.#store.close();
    await this.#ca.close();
  }
}
