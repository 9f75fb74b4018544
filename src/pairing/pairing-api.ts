// The contract of a pairing core, as seen by its callers (the station, sync, tests).
// Implemented in-process by EmbeddedPairingCore (embedded-core.ts) and over HTTP by
// RemotePairingClient (remote-client.ts), with exactly Astarte's Pairing API semantics.
import { ImprintError } from '../common/errors.ts';

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

/**
 * Error codes of the pairing core. `status` is the HTTP status the server answers with;
 * `detail` is the Astarte-compatible `errors.detail` text.
 */
export type PairingErrorCode =
  | 'REALM_NOT_FOUND' // 403 "Forbidden" (Astarte does not reveal unknown realms)
  | 'MISSING_TOKEN' // 401 "Missing authorization token"
  | 'INVALID_TOKEN' // 401 "Invalid JWT token"
  | 'UNAUTHORIZED_PATH' // 403 "Unauthorized access to METHOD PATH. Please verify your permissions"
  | 'UNAUTHORIZED' // 401 "Unauthorized" (missing device Bearer)
  | 'FORBIDDEN' // 403 "Forbidden" (wrong credentials secret)
  | 'DEVICE_NOT_FOUND' // 404 "Device not found"
  | 'ALREADY_REGISTERED' // 422 "Device already registered"
  | 'INVALID_DEVICE_ID' // 422 (Astarte: 500) invalid device id
  | 'DEVICE_INHIBITED' // 403 (Astarte: 500) credentials refused for an inhibited device
  | 'REGISTRATION_LIMIT' // 422 (Astarte: 500) realm's device registration limit reached
  | 'INVALID_CSR' // 422 malformed CSR or bad self-signature
  | 'VALIDATION' // 422 per-field errors (fields in details)
  | 'BAD_REQUEST' // 400 "Bad request"
  | 'INVALID_REQUEST' // 400 with a specific message (Foundries /sign bodies)
  | 'CLAIM_TOKEN_INVALID' // 401 claim token unverifiable (signature, algorithm, form)
  | 'CLAIM_TOKEN_EXPIRED' // 401 claim token past its expiry
  | 'CLAIM_TOKEN_REVOKED' // 403 claim token revoked by plant IT
  | 'CLAIM_TOKEN_WRONG_REALM' // 403 claim token minted for another realm
  | 'CLAIM_TOKEN_USED_UP' // 403 claim token has no use left
  | 'SERIAL_NOT_ALLOWED' // 403 manufacturer id does not match the token's serial pattern
  | 'WRONG_FACTORY' // 403 /sign CSR's OU is not the realm's factory
  | 'ALREADY_CLAIMED' // 409 manufacturer id already claimed
  | 'DEVICE_EXISTS' // 409 device id already known (a claim or /sign never takes a device over)
  | 'ALREADY_SIGNED' // 409 /sign for a UUID already registered (until an operator re-opens it)
  | 'UNREACHABLE' // remote client only: the core did not answer (network, timeout)
  | 'REMOTE_ERROR'; // remote client only: an unexpected answer (5xx, garbled body)

export class PairingError extends ImprintError {
  readonly status: number;
  declare readonly code: PairingErrorCode;

  constructor(
    code: PairingErrorCode,
    status: number,
    message: string,
    opts: { cause?: unknown; fields?: Record<string, string[]> } = {},
  ) {
    super(code, message, { cause: opts.cause, details: opts.fields ? { fields: opts.fields } : undefined });
    this.name = 'PairingError';
    this.status = status;
  }

  get fields(): Record<string, string[]> | undefined {
    return this.details?.fields as Record<string, string[]> | undefined;
  }
}

/** `YYYY-MM-DD HH:MM:SS.mmmZ`, the timestamp format of Astarte's verify answers. */
export function astarteTimestamp(d: Date): string {
  return d.toISOString().replace('T', ' ');
}
