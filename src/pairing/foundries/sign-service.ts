// Foundries-compatible device registration (POST /sign, as factory-registration-ref answers it), so
// devices running lmp-device-register with DEVICE_API=<core>/sign and PRODUCTION=1 register against
// the pairing core unchanged, for one realm whose factory name the CSR's OU must carry. Unlike the
// reference: proof of possession is checked, a UUID registers once until an operator re-opens it,
// every bad input is a clear 4xx, and every registration and refusal is an audit event.
import { createHash } from 'node:crypto';
import { deriveDeviceId } from '../../common/device-id.ts';
import { ImprintError } from '../../common/errors.ts';
import { type Logger, silentLogger } from '../../common/logger.ts';
import type { CoreAudit, CoreEvent } from '../core-audit.ts';
import { type EmbeddedPairingCore, newSerialHex, type PairingCoreExtension, type RealmConfig } from '../embedded-core.ts';
import { PairingError } from '../pairing-errors.ts';
import { PairingSetupError } from '../setup-errors.ts';
import { readCsrSubject } from './csr-subject.ts';
import { type SignOutcome, type SignRecord, type SignStore, signRefusal } from './sign-store.ts';
import { renderSotaToml, type SotaOverrides } from './sota-toml.ts';

export const DEFAULT_GATEWAY_URL = 'https://ota-lite.foundries.io:8443';
/** factory-registration-ref issues device certificates for 20 years (capped at the CA's own end). */
export const DEFAULT_SIGN_VALIDITY_DAYS = 7300;

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SOTA_DIR_RE = /^\/[A-Za-z0-9._/-]{0,254}$/;
const TOML_KEY_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The members lmp-device-register writes as files into its sota directory. */
export interface SignReply {
  'root.crt': string;
  'sota.toml': string;
  'client.pem': string;
  'client.chained': string;
}

export interface SignServiceOptions {
  realm: string;
  /** Device gateway URL written into sota.toml (the reference's DEVICE_GATEWAY_SERVER). */
  gatewayUrl?: string;
  /** root.crt: the root the device trusts for the gateway's TLS (default: this core's CA certificate). */
  rootCrtPem?: string;
  validityDays?: number;
  audit?: CoreAudit;
  logger?: Logger;
}

const badRequest = (m: string) => new PairingError('INVALID_REQUEST', { message: m });
const badField = (field: string, m: string) => badRequest(`Invalid '${field}': ${m}`);

interface SignRequest {
  csr: string;
  hardwareId: string;
  uuid?: string;
  name?: string;
  sotaConfigDir: string;
  overrides?: SotaOverrides;
}

function str(body: Record<string, unknown>, field: string, opts: { required: boolean; max: number }): string | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') {
    if (opts.required) throw badRequest(`Missing required field '${field}'`);
    return undefined;
  }
  if (typeof v !== 'string') throw badField(field, 'must be a string');
  if (v.length > opts.max) throw badField(field, `longer than ${opts.max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(v) && field !== 'csr') throw badField(field, 'control characters are not allowed');
  return v;
}

/** The request body, checked field by field (lmp-device-register sends every value as a JSON string). */
export function parseSignRequest(body: unknown): SignRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The body must be a JSON object');
  const b = body as Record<string, unknown>;
  // Without authentication a device must not choose its device group (the reference refuses it too).
  if ('group' in b) throw badRequest("Field 'group' is not supported: devices may not choose their device group");
  const csr = str(b, 'csr', { required: true, max: 16 * 1024 }) as string;
  const hardwareId = str(b, 'hardware-id', { required: true, max: 128 }) as string;
  const uuid = str(b, 'uuid', { required: false, max: 128 });
  const name = str(b, 'name', { required: false, max: 200 });
  const sotaConfigDir = str(b, 'sota-config-dir', { required: false, max: 255 }) ?? '/var/sota';
  if (!SOTA_DIR_RE.test(sotaConfigDir))
    throw badField('sota-config-dir', 'must be an absolute path of letters, digits and . _ - /');
  const ostree = b['use-ostree-server'];
  if (ostree !== undefined && typeof ostree !== 'boolean' && ostree !== 'true' && ostree !== 'false')
    throw badField('use-ostree-server', 'must be true or false');
  let overrides: SotaOverrides | undefined;
  if (b.overrides !== undefined && b.overrides !== null && b.overrides !== '') {
    const o = b.overrides;
    if (typeof o !== 'object' || Array.isArray(o)) throw badField('overrides', 'must be an object of sections');
    overrides = {};
    for (const [section, entries] of Object.entries(o as Record<string, unknown>)) {
      if (!TOML_KEY_RE.test(section)) throw badField('overrides', `bad section name "${section.slice(0, 64)}"`);
      if (typeof entries !== 'object' || entries === null || Array.isArray(entries))
        throw badField('overrides', `section ${section} must be an object`);
      overrides[section] = {};
      for (const [k, v] of Object.entries(entries as Record<string, unknown>)) {
        if (!TOML_KEY_RE.test(k)) throw badField('overrides', `bad key "${k.slice(0, 64)}" in section ${section}`);
        if (v !== null && typeof v !== 'string')
          throw badField('overrides', `${section}.${k} must be a string (TOML value text)`);
        if (typeof v === 'string' && (v.length > 1024 || /[\r\n\u0000]/.test(v)))
          throw badField('overrides', `${section}.${k} must be one line of at most 1024 characters`);
        overrides[section][k] = v;
      }
    }
  }
  // Other fields (newer clients) are accepted and ignored.
  return { csr, hardwareId, uuid, name, sotaConfigDir, overrides };
}

/** What a registration's audit event says, gathered before its transaction. */
interface SignedFacts {
  realm: string;
  uuid: string;
  deviceId: string;
  name: string | null;
  hardwareId: string;
  production: boolean;
  certificateSerial: string;
  publicKeySha256: string;
  /** performance.now() when the request began. */
  started: number;
}

/** Why /sign refused, as the error the device gets (undefined: no refusal). */
function signRefused(
  o: Exclude<SignOutcome, { kind: 'signed' }> | undefined,
  realm: string,
  uuid: string,
  deviceId: string,
  cfg: RealmConfig,
): PairingError | undefined {
  switch (o?.kind) {
    case undefined:
      return undefined;
    case 'already_signed':
      return new PairingError('ALREADY_SIGNED', {
        message: `Device ${uuid} is already registered (since ${o.signedAt}); an operator must re-open it first (imprint pairing sign reopen ${realm} ${uuid})`,
      });
    case 'device_exists':
      return new PairingError('DEVICE_EXISTS', {
        message: `Device id ${deviceId} (UUID ${uuid}) is already known to realm "${realm}" and was not registered by /sign`,
      });
    case 'limit':
      return new PairingError('REGISTRATION_LIMIT', {
        message: `The realm's device registration limit (${cfg.deviceRegistrationLimit}) has been reached`,
      });
  }
}

export class SignService {
  readonly realm: string;
  readonly #ext: PairingCoreExtension;
  readonly #store: SignStore;
  readonly #factory: string;
  readonly #gatewayUrl: string;
  readonly #rootCrt: string;
  readonly #validityDays: number;
  readonly #audit: CoreAudit | undefined;
  readonly #log: Logger;

  /** The service for `opts.realm` (PairingError REALM_NOT_FOUND, or SIGN_REALM_WITHOUT_FACTORY). */
  static async open(core: EmbeddedPairingCore, opts: SignServiceOptions): Promise<SignService> {
    return new SignService(core, await core.extension().realm(opts.realm), opts);
  }

  private constructor(core: EmbeddedPairingCore, cfg: RealmConfig, opts: SignServiceOptions) {
    this.#ext = core.extension();
    if (!cfg.factory)
      throw new PairingSetupError('SIGN_REALM_WITHOUT_FACTORY', `Realm "${opts.realm}" has no factory name: /sign needs one`);
    this.realm = opts.realm;
    this.#factory = cfg.factory;
    this.#store = this.#ext.store.signs;
    this.#gatewayUrl = opts.gatewayUrl ?? DEFAULT_GATEWAY_URL;
    if (!URL.canParse(this.#gatewayUrl) || /["\s]/.test(this.#gatewayUrl))
      throw new PairingSetupError(
        'INVALID_ARGUMENT',
        `The device gateway URL must be an absolute URL, got "${this.#gatewayUrl}"`,
      );
    this.#rootCrt = opts.rootCrtPem ?? this.#ext.ca.certificatePem;
    this.#validityDays = opts.validityDays ?? DEFAULT_SIGN_VALIDITY_DAYS;
    this.#audit = opts.audit;
    this.#log = (opts.logger ?? silentLogger).child({ component: 'sign' });
  }

  /** A request body as parsed JSON. */
  sign(body: unknown): Promise<SignReply> {
    return this.#sign(() => body);
  }

  /** A request body as the JSON text the device sent (bad JSON is a refusal like any other: 400, audited). */
  signText(text: string): Promise<SignReply> {
    return this.#sign(() => {
      if (typeof text !== 'string' || text.trim() === '') throw badRequest('Missing request body');
      try {
        return JSON.parse(text);
      } catch {
        throw badRequest('The body is not valid JSON');
      }
    });
  }

  async #sign(body: () => unknown): Promise<SignReply> {
    const started = performance.now();
    const realm = this.realm;
    let uuid: string | undefined;
    try {
      const req = parseSignRequest(body());
      const { subject, csr } = readCsrSubject(req.csr);
      if (!subject.commonName)
        throw new PairingError('INVALID_CSR', { message: 'Invalid CSR: the subject has no CN (it must be the device UUID)' });
      if (!subject.organizationalUnit)
        throw new PairingError('INVALID_CSR', {
          message: `Invalid CSR: the subject has no OU (it must be the factory name "${this.#factory}")`,
        });
      if (subject.organizationalUnit !== this.#factory)
        throw new PairingError('WRONG_FACTORY', {
          message: `Invalid factory (${subject.organizationalUnit}): this server registers devices of factory "${this.#factory}"`,
        });
      if (req.uuid !== undefined && req.uuid.toLowerCase() !== subject.commonName.toLowerCase())
        throw badField('uuid', `does not match the CSR's CN (${subject.commonName.slice(0, 64)})`);
      uuid = subject.commonName.toLowerCase();
      const id = uuid;
      const cfg = await this.#ext.realm(realm);
      // A UUID is 128 bits: the device id is its bytes. Other ids (lmp-device-register --validate-uuid 0) are derived.
      const deviceId = UUID_RE.test(id)
        ? Buffer.from(id.replaceAll('-', ''), 'hex').toString('base64url')
        : deriveDeviceId(id, cfg.deviceIdNamespace);
      // Checked before the costly signing, and again by the store in the transaction that records it.
      const early = signRefused(await this.#refusal(realm, id, deviceId), realm, id, deviceId, cfg);
      if (early) throw early;
      const issued = await this.#ext.ca.issueWithSubjectAsync({
        csrPem: req.csr,
        csr,
        commonName: subject.commonName,
        subjectDer: subject.der,
        serialHex: newSerialHex(),
        validityDays: this.#validityDays,
        now: this.#ext.now(),
      });
      // Which key the device registered (the certificate certifies the CSR's key, checked by the CA).
      const keyHash = createHash('sha256').update(subject.spki).digest('hex');
      const facts: SignedFacts = {
        realm,
        uuid: id,
        deviceId,
        name: req.name ?? null,
        hardwareId: req.hardwareId,
        production: subject.businessCategory === 'production',
        certificateSerial: issued.serialHex,
        publicKeySha256: keyHash,
        started,
      };
      // The event in the registration's own transaction where the store keeps the chain (one commit).
      const sealed = this.#audit?.sealedBy(this.#ext.store) === true;
      const outcome = await this.#store.sign({
        realm,
        uuid: id,
        deviceId,
        name: req.name ?? null,
        hardwareId: req.hardwareId,
        serialHex: issued.serialHex,
        publicKeySha256: keyHash,
        notAfter: issued.notAfter.toISOString(),
        at: this.#ext.now().toISOString(),
        // Not a named closure: tsx names those with Object.defineProperty on every call (0.8 % of a /sign).
        event: sealed ? (signings: number) => this.#signedEvent(facts, signings) : undefined,
      });
      if (outcome.kind !== 'signed') throw signRefused(outcome, realm, id, deviceId, cfg);
      this.#ext.revokedHere();
      if (!sealed) await this.#audit?.record(this.#signedEvent(facts, outcome.signings));
      this.#log.debug({ realm, uuid: id, deviceId }, 'foundries device signed');
      return {
        'root.crt': this.#rootCrt,
        'sota.toml': renderSotaToml({
          gatewayUrl: this.#gatewayUrl,
          sotaConfigDir: req.sotaConfigDir,
          hardwareId: req.hardwareId,
          overrides: req.overrides,
        }),
        'client.pem': issued.pem,
        'client.chained': `${issued.pem}\n${this.#ext.ca.certificatePem}`,
      };
    } catch (e) {
      await this.#audit?.record({
        step: 'sign-refused',
        outcome: 'fail',
        errorCode: e instanceof ImprintError ? e.code : 'INTERNAL',
        message: e instanceof Error ? e.message.slice(0, 500) : 'sign refused',
        hardwareSerial: uuid,
        durationMs: performance.now() - started,
        data: { realm },
      });
      throw e;
    }
  }

  /** The audit event of a registration (`signings`: how many times this UUID has registered). */
  #signedEvent(f: SignedFacts, signings: number): CoreEvent {
    return {
      step: 'sign',
      outcome: 'ok',
      deviceId: f.deviceId,
      hardwareSerial: f.uuid,
      durationMs: performance.now() - f.started,
      message: signings > 1 ? `re-registered after an operator re-opened it (registration ${signings})` : undefined,
      data: {
        realm: f.realm,
        uuid: f.uuid,
        name: f.name,
        hardwareId: f.hardwareId,
        factory: this.#factory,
        production: f.production,
        certificateSerial: f.certificateSerial,
        publicKeySha256: f.publicKeySha256,
        registration: signings,
      },
    };
  }

  /** The store's refusal of this registration as it stands, read before signing (one read where the store can). */
  async #refusal(realm: string, id: string, deviceId: string): Promise<Exclude<SignOutcome, { kind: 'signed' }> | undefined> {
    if (this.#store.refusal) return this.#store.refusal(realm, id, deviceId);
    const [before, existing] = await Promise.all([this.#store.get(realm, id), this.#ext.store.devices.get(realm, deviceId)]);
    // The two reads are not one snapshot: a concurrent /sign of this UUID (here or on another instance)
    // may commit between them, showing its device but not its record. The record is written in the
    // same transaction as the device, so read after the device it tells "already signed" from
    // "registered by something else".
    const record = !before && existing ? await this.#store.get(realm, id) : before;
    return signRefusal(record, existing !== undefined);
  }

  /** Operator: allow one more /sign of `uuid` (a replaced board, a wiped device). Audited. */
  async reopen(uuid: string, operator?: string): Promise<void> {
    const id = typeof uuid === 'string' ? uuid.toLowerCase() : '';
    const at = this.#ext.now().toISOString();
    const outcome = await this.#store.reopen(this.realm, id, at);
    if (outcome.kind === 'not_found')
      throw new PairingSetupError('SIGN_NOT_FOUND', `No /sign registration of ${uuid} in realm "${this.realm}"`);
    if (outcome.kind === 'already_reopened')
      throw new PairingSetupError('SIGN_ALREADY_REOPENED', `${uuid} is already re-opened (since ${outcome.reopenedAt})`);
    const rec: SignRecord = outcome.record;
    await this.#audit?.record({
      step: 'sign-reopen',
      outcome: 'info',
      operator,
      deviceId: rec.deviceId,
      hardwareSerial: id,
      message: `${id} may register once more through /sign`,
      data: { realm: this.realm, uuid: id, certificateSerial: rec.certificateSerial },
    });
  }
}
