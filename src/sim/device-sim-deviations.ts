// Deliberate protocol bugs the simulator can be built with, the way firmware gets them wrong. Each
// breaks one rule of docs/device-protocol.md; the tests prove the conformance kit names that rule.

export const DEVICE_DEVIATIONS = {
  'ignore-crc': { breaks: 'F-CRC', what: 'executes requests whose checksum is wrong' },
  'cache-by-seq': { breaks: 'C-NEW-LINE', what: 'answers from the reply cache by sequence number alone' },
  'no-reply-cache': { breaks: 'C-REPLAY', what: 'executes a retransmitted request again instead of replaying its reply' },
  'hello-keeps-cache': { breaks: 'C-HELLO', what: 'HELLO does not clear the reply cache' },
  'short-buffer': { breaks: 'F-MAX', what: 'announces max=512 but drops lines longer than 400 bytes' },
  'no-default-version': { breaks: 'H-NO-V', what: 'refuses a HELLO without v=' },
  'digest-of-bytes': { breaks: 'W-DIGEST', what: 'digests the 32 decoded bytes instead of the 44 characters' },
  overwrite: { breaks: 'W-ONCE', what: 'written storage takes a different secret' },
  'lock-empty': { breaks: 'L-EMPTY', what: 'answers OK to LOCK on empty storage' },
  'accept-noncanonical': { breaks: 'W-ARGS', what: 'accepts a secret whose Base64 is not canonical' },
  'busy-parallel': { breaks: 'B-RETRANSMIT', what: 'runs a retransmission that arrives while busy in parallel' },
  'no-config-parts': { breaks: 'G-PARTS', what: 'announces minor=1 but takes no CONFIG parts (more=1)' },
  'echo-secret': { breaks: 'W-NO-ECHO', what: 'prints the secret on its console while writing it' },
} as const satisfies Record<string, { breaks: string; what: string }>;

export type DeviceDeviation = keyof typeof DEVICE_DEVIATIONS;

export function isDeviceDeviation(name: string): name is DeviceDeviation {
  return Object.hasOwn(DEVICE_DEVIATIONS, name);
}
