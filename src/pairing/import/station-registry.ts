// Enrolled stations: plant IT binds a station id to the station's Ed25519 batch-signing key (the key of
// src/audit/station-signing-key.ts). Imports are accepted only from enrolled stations; a second key for
// an enrolled id is refused. Each station's status says how far its central chain is verified: on
// arrival (the list), or end to end now, by the station's own verifier (one station).
import { ChainChecker } from '../../audit/audit-chain.ts';
import { GENESIS_HASH } from '../../audit/chain-link.ts';
import { keyIdOf } from '../../audit/station-signing-key.ts';
import type { PairingCoreExtension } from '../embedded-core.ts';
import { PairingError } from '../pairing-errors.ts';
import { eventOf } from './central-audit-store.ts';
import { IMPORT_DECISIONS_STATION, type ImportDecisions } from './import-decisions.ts';
import type { EnrolledStation } from './import-store.ts';
import { checkStationName } from './station-name.ts';

export type { EnrolledStation } from './import-store.ts';

export interface EnrolRequest {
  station: string;
  /** Base64 of the raw 32-byte Ed25519 public key (or of its DER SubjectPublicKeyInfo). */
  publicKey: string;
  /** The station's key id as its trail records it (`ed25519:` + 16 hex); checked against the key. */
  keyId?: string;
}

export interface StationChainStatus {
  acceptedUpTo: number;
  lastHash: string;
  /** The chain held here is whole and linked, event by event. */
  verified: boolean;
  /** Every batch summary held verifies under the enrolled key. */
  signaturesVerified: boolean;
  /** Why not, when a check of the central copy failed. */
  reason?: string;
}

export interface StationStatus extends Omit<EnrolledStation, 'verifiedUpTo'> {
  chain: StationChainStatus;
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const PAGE = 5000;

function invalid(field: string, message: string): PairingError {
  return new PairingError('VALIDATION', { message: `Invalid ${field}`, fields: { [field]: [message] } });
}

/** The SPKI (base64) of a raw or SPKI base64 Ed25519 key; VALIDATION otherwise. */
export function ed25519Spki(publicKey: string): string {
  const raw = typeof publicKey === 'string' && /^[A-Za-z0-9+/]+={0,2}$/.test(publicKey) ? Buffer.from(publicKey, 'base64') : null;
  if (raw?.length === 32) return Buffer.concat([ED25519_SPKI_PREFIX, raw]).toString('base64');
  if (raw?.length === 44 && raw.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) return raw.toString('base64');
  throw invalid('public_key', 'must be the base64 of a raw 32-byte Ed25519 public key');
}

export class StationRegistry {
  readonly #ext: PairingCoreExtension;
  readonly #decisions: ImportDecisions;

  constructor(ext: PairingCoreExtension, decisions: ImportDecisions) {
    this.#ext = ext;
    this.#decisions = decisions;
  }

  /** Enrols (`created`), or finds the same enrolment again; STATION_KEY_MISMATCH (audited) for another key. */
  async enrol(realm: string, req: EnrolRequest): Promise<{ created: boolean; station: EnrolledStation }> {
    await this.#ext.realm(realm);
    checkStationName(req.station);
    if (req.station.startsWith('pairing-core')) throw invalid('station_id', 'is reserved for the core');
    const publicKey = ed25519Spki(req.publicKey);
    const keyId = keyIdOf(publicKey);
    if (req.keyId !== undefined && req.keyId !== keyId)
      throw invalid('key_id', `does not match the public key (whose key id is ${keyId})`);
    const at = this.#ext.now().toISOString();
    const o = await this.#ext.store.imports.enrolStation(realm, { station: req.station, publicKey, keyId, enrolledAt: at });
    if (o.kind === 'key_mismatch') {
      const e = new PairingError('STATION_KEY_MISMATCH', {
        message: `Station ${req.station} is enrolled with key ${o.station.keyId} (since ${o.station.enrolledAt}), not ${keyId}`,
      });
      await this.refused(realm, req.station, 'stations', e, { keyId, enrolledKeyId: o.station.keyId });
      throw e;
    }
    // A new enrolment is its row (with its time); refusals and resolutions are the audited decisions.
    return { created: o.kind === 'enrolled', station: o.station };
  }

  /** The enrolled station, or STATION_NOT_ENROLLED, audited as a refusal of `route`. */
  async requireEnrolled(realm: string, station: string, route: 'devices' | 'audit'): Promise<EnrolledStation> {
    const s = await this.#ext.store.imports.station(realm, station);
    if (s) return s;
    const e = new PairingError('STATION_NOT_ENROLLED', {
      message: `Station ${station} is not enrolled in realm "${realm}": its imports are refused`,
    });
    await this.refused(realm, station, route, e);
    throw e;
  }

  /** Audits a refused import (never a secret or a hash in `data`). */
  async refused(
    realm: string,
    station: string,
    route: string,
    e: PairingError,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    await this.#decisions.record(realm, {
      step: 'import-refused',
      outcome: 'fail',
      errorCode: e.code,
      message: e.message.slice(0, 500),
      data: { station, route, ...data },
    });
  }

  /** Every enrolled station, with its chain as verified on arrival (each append is checked under the key). */
  async list(realm: string): Promise<StationStatus[]> {
    await this.#ext.realm(realm);
    const [stations, heads] = await Promise.all([
      this.#ext.store.imports.stations(realm),
      this.#ext.store.centralAudit.heads(realm),
    ]);
    const headOf = new Map(heads.map((h) => [h.station, h]));
    return stations.map(({ verifiedUpTo, ...s }) => {
      const h = headOf.get(s.station);
      const acceptedUpTo = h?.lastSeq ?? 0;
      return {
        ...s,
        chain: {
          acceptedUpTo,
          lastHash: h?.lastHash ?? GENESIS_HASH,
          verified: true,
          signaturesVerified: verifiedUpTo === acceptedUpTo,
          ...(verifiedUpTo !== acceptedUpTo && {
            reason: 'the chain held here was begun before this key was enrolled (GET the station to check it end to end)',
          }),
        },
      };
    });
  }

  /** One station, its central chain verified end to end now (links, hashes, batch signatures under its key). */
  async get(realm: string, station: string): Promise<StationStatus> {
    await this.#ext.realm(realm);
    const s = await this.#ext.store.imports.station(realm, station);
    if (!s || station === IMPORT_DECISIONS_STATION)
      throw new PairingError('STATION_NOT_ENROLLED', { message: `Station ${station} is not enrolled in realm "${realm}"` });
    const head = await this.#ext.store.centralAudit.head(realm, station);
    const checker = new ChainChecker({ fromSeq: 1, trustedKeyIds: [s.keyId] });
    for (let from = 1; !checker.done && from <= (head?.lastSeq ?? 0); from += PAGE) {
      const rows = await this.#ext.store.centralAudit.events(realm, station, from, PAGE);
      if (rows.length === 0) break;
      for (const r of rows) checker.push(eventOf(r));
    }
    const v = checker.finish();
    const whole = v.ok && v.events === (head?.lastSeq ?? 0) && (v.lastHash ?? GENESIS_HASH) === (head?.lastHash ?? GENESIS_HASH);
    const { verifiedUpTo: _, ...rest } = s;
    return {
      ...rest,
      chain: {
        acceptedUpTo: head?.lastSeq ?? 0,
        lastHash: head?.lastHash ?? GENESIS_HASH,
        verified: whole,
        signaturesVerified: whole,
        ...(!whole && { reason: v.ok ? 'the central copy does not reach its head' : `event ${v.brokenAt}: ${v.reason}` }),
      },
    };
  }
}
