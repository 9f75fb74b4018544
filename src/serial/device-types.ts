// The contract of a device on its programming port, as the station sees it.
// The wire protocol behind it is specified in docs/device-protocol.md.
import { createHash } from 'node:crypto';

export interface DeviceHello {
  protocolVersion: number;
  /** The revision of that version: 1 for v1.1, 0 for a v1.0 device (no `minor=` in its reply). */
  minor: number;
  model: string;
  firmware: string;
  capabilities: string[];
  /** The longest frame the device takes (`max=`, CR and LF included); 512 when it announces none. */
  maxFrameBytes: number;
}

/** What a device says it is (IDENTITY). A label is cross-checked against these (docs/labels.md). */
export interface DeviceIdentity {
  hardwareSerial: string;
  /** Its network MAC, normalised `A4:CF:12:0B:9E:01`, when it reports one (`mac=`, v1.1). */
  mac?: string;
  /** Its GTIN-14 (product type), when it reports one (`gtin=`, v1.1). */
  gtin?: string;
  /** The device id the device already knows (from a previous provisioning config), if any. */
  deviceId?: string;
}

/**
 * Secure storage as the device reports it. `digest` is lowercase hex SHA-256 over the stored
 * secret bytes (the 44 ASCII characters of the Base64 credentials secret). `torn` means a write
 * was interrupted (power loss): the storage holds neither nothing nor a whole secret.
 */
export type StorageStatus =
  | { state: 'empty' }
  | { state: 'written'; digest: string }
  | { state: 'locked'; digest: string }
  | { state: 'torn' };

export interface ProvisioningConfig {
  realm: string;
  deviceId: string;
  pairingUrl: string;
  brokerUrl?: string;
}

export interface DeviceClient {
  hello(): Promise<DeviceHello>;
  identity(): Promise<DeviceIdentity>;
  storageStatus(): Promise<StorageStatus>;
  /** Write the secret; resolves with the digest the device computed over what it stored. */
  writeSecret(credentialsSecret: string): Promise<{ digest: string }>;
  lock(): Promise<void>;
  /** Deliver the config, in parts (`more=1`) when one frame would exceed the device's `max`. */
  writeConfig(config: ProvisioningConfig): Promise<void>;
  /**
   * Before anything is registered or written: can the station provision this device with this
   * config (capabilities, frame limit)? Rejects with UNSUPPORTED_DEVICE saying why.
   */
  preflight?(config: ProvisioningConfig): Promise<void>;
  close(): Promise<void>;
}

/** The digest of the protocol: SHA-256 over the 44 ASCII characters of the secret, lowercase hex. */
export function secretDigest(credentialsSecret: string): string {
  return createHash('sha256').update(credentialsSecret, 'ascii').digest('hex');
}
