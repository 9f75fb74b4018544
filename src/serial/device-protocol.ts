// Constants and value rules of the device provisioning protocol v1.1 (docs/device-protocol.md),
// shared by the station side (src/serial), the conformance kit and the device simulator (src/sim/).

/** Protocol versions this station speaks (`v=` in HELLO), newest last. */
export const PROTOCOL_VERSIONS = [1] as const;
export const PROTOCOL_VERSION = 1;
/** The revision of version 1 this code implements: 1.1 (`minor=1` in the HELLO reply; absent means 1.0). */
export const PROTOCOL_MINOR = 1;

/** Longest frame in bytes, CR and LF included. The station never sends or accepts more. */
export const MAX_FRAME_BYTES = 512;
/** The smallest `max=` a device may announce: room for every fixed-size request. */
export const MIN_DEVICE_MAX_BYTES = 128;

/** Reply time limits from the end of the request (its LF) to the end of the reply. */
export const QUICK_REPLY_LIMIT_MS = 250;
/** WRITE, LOCK, CONFIG and RESET program non-volatile memory. */
export const STORAGE_REPLY_LIMIT_MS = 2000;
export const STORAGE_COMMANDS: readonly string[] = ['WRITE', 'LOCK', 'CONFIG', 'RESET'];

export const COMMANDS = ['HELLO', 'IDENTITY', 'STATUS', 'WRITE', 'LOCK', 'CONFIG', 'RESET'] as const;
export type Command = (typeof COMMANDS)[number];

/** Capabilities a device may announce in HELLO (`caps=`). */
export const CAPABILITIES = ['write', 'lock', 'config', 'reset'] as const;
/** What the station needs to provision a device; a device lacking one is refused before anything is written. */
export const REQUIRED_CAPABILITIES = ['write', 'lock', 'config'] as const;

/** Error codes a device may send in `ERR code=…`. */
export const WIRE_ERROR_CODES = [
  'ALREADY_WRITTEN',
  'LOCKED',
  'TORN',
  'NOT_ALLOWED',
  'BAD_ARGUMENT',
  'UNKNOWN_COMMAND',
  'UNSUPPORTED_VERSION',
  'BAD_FRAME',
  'BAD_CRC',
  'DEVICE_FAULT',
] as const;
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/** A credentials secret on the wire: 32 bytes as standard Base64 with padding (44 chars). */
export const SECRET_PATTERN = /^[A-Za-z0-9+/]{43}=$/;
export const DIGEST_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The canonical Base64 of 32 bytes: 43 characters, `=`, and the last character carries no stray
 * bits (so each secret has exactly one spelling, and one digest).
 */
export function isValidSecret(secret: string): boolean {
  return SECRET_PATTERN.test(secret) && Buffer.from(secret, 'base64').toString('base64') === secret;
}

// Value formats of HELLO and IDENTITY replies (section 4 of the protocol document).
export const MODEL_PATTERN = /^[A-Za-z0-9._-]{1,32}$/;
export const FIRMWARE_PATTERN = /^[A-Za-z0-9._+-]{1,32}$/;
export const CAPS_PATTERN = /^[a-z][a-z0-9_]*(,[a-z][a-z0-9_]*)*$/;
export const SERIAL_PATTERN = /^[\x21-\x7e]{1,32}$/;
export const MAC_PATTERN = /^[0-9A-F]{2}(:[0-9A-F]{2}){5}$/;
export const GTIN_PATTERN = /^[0-9]{14}$/;

// CONFIG values: what a device must accept, and refuse beyond (BAD_ARGUMENT).
export const REALM_PATTERN = /^[a-z][a-z0-9]{0,47}$/;
export const URL_MAX_BYTES = 256;
const PAIRING_URL = /^https?:\/\/[\x21-\x7e]+$/;
const BROKER_URL = /^[a-z][a-z0-9+.-]*:\/\/[\x21-\x7e]+$/;

export function isPairingUrl(s: string): boolean {
  return s.length <= URL_MAX_BYTES && PAIRING_URL.test(s);
}

export function isBrokerUrl(s: string): boolean {
  return s.length <= URL_MAX_BYTES && BROKER_URL.test(s);
}

/** The CONFIG keys, in the order the station sends them. */
export const CONFIG_KEYS = ['realm', 'device_id', 'pairing_url', 'broker_url'] as const;
const DEVICE_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;

/** Why a device must refuse this CONFIG value (BAD_ARGUMENT); undefined when it is valid. */
export function configValueProblem(key: (typeof CONFIG_KEYS)[number], value: string): string | undefined {
  switch (key) {
    case 'realm':
      return REALM_PATTERN.test(value) ? undefined : 'realm: 1-48 lowercase letters and digits, starting with a letter';
    case 'device_id':
      return DEVICE_ID.test(value) ? undefined : 'device_id: 22 characters of base64url (16 bytes)';
    case 'pairing_url':
      return isPairingUrl(value) ? undefined : 'pairing_url: http:// or https://, printable ASCII, at most 256 bytes';
    case 'broker_url':
      return isBrokerUrl(value) ? undefined : 'broker_url: scheme://, printable ASCII, at most 256 bytes';
  }
}
