// The station as the central core knows it (docs/sync.md, "Enrolled stations"): plant IT enrols a
// station id with the station's Ed25519 signing key; the core then accepts imports only from
// enrolled stations, with batch summaries that verify under that key. Also QA's conflict actions.
import { createPublicKey } from 'node:crypto';
import { type RemoteTarget, refusal, remoteRequest, whereOf } from './remote-request.ts';
import { SyncError } from './sync-errors.ts';

/** The scopes each remote action needs (printed with a 403, listed in docs/sync.md). */
export const SCOPES = {
  enrol: 'POST::agent/imports/stations',
  stations: 'GET::agent/imports/.*',
  sync: 'POST::agent/imports/(devices|audit) and GET::agent/imports/.*',
  resolve: 'POST::agent/imports/conflicts/.*',
  audit: 'GET::agent/audit/.*',
} as const;

/** The raw 32-byte Ed25519 public key (base64) from the SPKI form the audit trail keeps. */
export function rawEd25519(spkiB64: string): string {
  const jwk = createPublicKey({ key: Buffer.from(spkiB64, 'base64'), format: 'der', type: 'spki' }).export({ format: 'jwk' });
  return Buffer.from(jwk.x as string, 'base64url').toString('base64');
}

export interface Enrolment {
  stationId: string;
  keyId: string;
  enrolledAt: string;
  /** false: it was enrolled already with this very key (idempotent). */
  created: boolean;
}

export async function enrolStation(
  t: RemoteTarget,
  station: { stationId: string; publicKeySpki: string; keyId: string },
): Promise<Enrolment> {
  const a = await remoteRequest(t, 'POST', 'agent/imports/stations', {
    data: { station_id: station.stationId, public_key: rawEd25519(station.publicKeySpki), key_id: station.keyId },
  });
  if (a.status === 404 && !a.code) {
    throw new SyncError('ENROLMENT_UNSUPPORTED', whereOf(t));
  }
  if (a.status !== 200 && a.status !== 201) throw refusal(t, `enrolling station ${station.stationId}`, a, SCOPES.enrol);
  const d = (a.body?.data ?? {}) as { station_id?: string; key_id?: string; enrolled_at?: string };
  return {
    stationId: d.station_id ?? station.stationId,
    keyId: d.key_id ?? station.keyId,
    enrolledAt: d.enrolled_at ?? new Date().toISOString(),
    created: a.status === 201,
  };
}

export interface EnrolledStation {
  stationId: string;
  keyId: string;
  enrolledAt: string;
  chain?: { acceptedUpTo: number; lastHash: string; verified: boolean; signaturesVerified: boolean };
}

/** One enrolled station, or undefined when the core does not know it. */
export async function enrolledStation(t: RemoteTarget, stationId: string): Promise<EnrolledStation | undefined> {
  const a = await remoteRequest(t, 'GET', `agent/imports/stations/${encodeURIComponent(stationId)}`);
  if (a.status === 404) return undefined;
  if (a.status !== 200) throw refusal(t, `reading station ${stationId}`, a, SCOPES.stations);
  const d = a.body?.data as {
    station_id: string;
    key_id: string;
    enrolled_at: string;
    chain?: { accepted_up_to: number; last_hash: string; verified: boolean; signatures_verified: boolean };
  };
  return {
    stationId: d.station_id,
    keyId: d.key_id,
    enrolledAt: d.enrolled_at,
    chain: d.chain && {
      acceptedUpTo: d.chain.accepted_up_to,
      lastHash: d.chain.last_hash,
      verified: d.chain.verified,
      signaturesVerified: d.chain.signatures_verified,
    },
  };
}

/** A conflict as the core holds it: the station's offline side and the side the core keeps. */
export interface RemoteConflict {
  deviceId: string;
  hardwareSerial?: string;
  station?: string;
  batch?: string;
  registeredAt?: string;
  reason?: string;
  heldBy?: { station?: string; batch?: string; registeredAt?: string; source?: 'online' | 'import' };
}

export async function remoteConflicts(t: RemoteTarget): Promise<RemoteConflict[]> {
  const a = await remoteRequest(t, 'GET', 'agent/imports/conflicts');
  if (a.status !== 200) throw refusal(t, 'listing conflicts', a, SCOPES.stations);
  const rows = (a.body?.data ?? []) as Record<string, unknown>[];
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return (Array.isArray(rows) ? rows : []).map((r) => {
    const held = r.held_by as Record<string, unknown> | undefined;
    return {
      deviceId: String(r.device_id),
      hardwareSerial: str(r.hardware_serial),
      station: str(r.station),
      batch: str(r.batch),
      registeredAt: str(r.registered_at),
      reason: str(r.reason),
      heldBy: held && {
        station: str(held.station),
        batch: str(held.batch),
        registeredAt: str(held.registered_at),
        source: held.source === 'online' || held.source === 'import' ? held.source : undefined,
      },
    };
  });
}

/** QA's decision on one conflict: keep the core's registration, or the station's offline one. */
export async function resolveConflict(
  t: RemoteTarget,
  deviceId: string,
  keep: 'core' | 'station',
  stationId: string,
): Promise<void> {
  const a = await remoteRequest(t, 'POST', `agent/imports/conflicts/${encodeURIComponent(deviceId)}/resolve`, {
    data: { keep, station: stationId },
  });
  if (a.code === 'DEVICE_ALREADY_CONFIRMED') throw new SyncError('DEVICE_ALREADY_CONFIRMED', `${deviceId}`);
  if (a.status !== 200) throw refusal(t, `resolving the conflict of ${deviceId}`, a, SCOPES.resolve);
}
