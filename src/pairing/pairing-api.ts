// The contract of a pairing core, as seen by its callers (the station, sync, tests).
// Implemented in-process by EmbeddedPairingCore (embedded-core.ts) and over HTTP by
// RemotePairingClient (remote-client.ts), with exactly Astarte's Pairing API semantics. Both throw
// PairingError (pairing-errors.ts).

export { PairingError, type PairingErrorCode } from './pairing-errors.ts';

export type DeviceStatus = 'pending' | 'confirmed' | 'inhibited';

export interface IntrospectionEntry {
  major: number;
  minor: number;
}

export interface DeviceInfo {
  version: string;
  status: DeviceStatus;
  protocols: { astarte_mqtt_v1: { broker_url: string } };
}

/** Timestamps are strings `YYYY-MM-DD HH:MM:SS.mmmZ`, as Astarte answers them. */
export type VerifyResult =
  | { valid: true; timestamp: string; until: string }
  | { valid: false; timestamp: string; cause: VerifyCause; details: null };

/**
 * Astarte's causes (its CertVerifier's mapping of path validation failures; MISSING_BASIC_CONSTRAINT,
 * INVALID_KEY_USAGE and NAME_NOT_PERMITTED can come from a real Astarte only), plus our REVOKED.
 */
export type VerifyCause =
  | 'EXPIRED'
  | 'INVALID_ISSUER'
  | 'INVALID_SIGNATURE'
  | 'NAME_NOT_PERMITTED'
  | 'MISSING_BASIC_CONSTRAINT'
  | 'INVALID_KEY_USAGE'
  | 'INVALID'
  | 'REVOKED';

export interface RegisterOptions {
  initialIntrospection?: Record<string, IntrospectionEntry>;
}

/** The Astarte agent API: what a registration agent (a station) may do. */
export interface PairingAgentApi {
  registerDevice(realm: string, hwId: string, opts?: RegisterOptions): Promise<{ credentialsSecret: string }>;
  unregisterDevice(realm: string, deviceId: string): Promise<void>;
}

/** The Astarte device API: what a device may do with its credentials secret. */
export interface PairingDeviceApi {
  getInfo(realm: string, hwId: string, credentialsSecret: string): Promise<DeviceInfo>;
  requestCredentials(realm: string, hwId: string, credentialsSecret: string, csrPem: string): Promise<{ clientCrt: string }>;
  verifyCredentials(realm: string, hwId: string, credentialsSecret: string, clientCrtPem: string): Promise<VerifyResult>;
}

export interface PairingClient extends PairingAgentApi, PairingDeviceApi {
  readonly kind: 'embedded' | 'remote';
  /** Base URL of a remote core; undefined when embedded. */
  readonly url?: string;
  close(): Promise<void>;
}

/** `YYYY-MM-DD HH:MM:SS.mmmZ`, the timestamp format of Astarte's verify answers. */
export function astarteTimestamp(d: Date): string {
  return d.toISOString().replace('T', ' ');
}
