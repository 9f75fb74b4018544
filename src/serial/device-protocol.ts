// Constants of the device provisioning protocol (docs/device-protocol.md), shared by the station
// side (src/serial) and the device simulator (src/sim/).

/** Protocol versions this station speaks, newest last. */
export const PROTOCOL_VERSIONS = [1] as const;
export const PROTOCOL_VERSION = 1;

/** Longest frame in bytes, LF included. Receivers discard longer lines. */
export const MAX_FRAME_BYTES = 512;

export const COMMANDS = ['HELLO', 'IDENTITY', 'STATUS', 'WRITE', 'LOCK', 'CONFIG', 'RESET'] as const;
export type Command = (typeof COMMANDS)[number];

/** Capabilities a device may announce in HELLO (`caps=`). */
export const CAPABILITIES = ['write', 'lock', 'config', 'reset'] as const;

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

export function isValidSecret(secret: string): boolean {
  return SECRET_PATTERN.test(secret) && Buffer.from(secret, 'base64').length === 32;
}
