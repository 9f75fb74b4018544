// How the station fits CONFIG into a device's frame limit (`max=`): one frame when it fits, else
// parts (`more=1` on every part but the last) for v1.1 devices, else a refusal, decided before
// anything is written to the device (docs/device-protocol.md, CONFIG).
import {
  CONFIG_KEYS,
  configValueProblem,
  MAX_FRAME_BYTES,
  MIN_DEVICE_MAX_BYTES,
  REQUIRED_CAPABILITIES,
} from './device-protocol.ts';
import type { DeviceHello, ProvisioningConfig } from './device-types.ts';
import { encodeValue } from './frame-codec.ts';

export type ConfigPlan = { parts: Record<string, string>[] } | { refused: string; cause: 'device' | 'config' };

/** Bytes of a request frame on the wire, LF included (any length: nothing is encoded for sending). */
export function requestBytes(verb: string, args: Record<string, string>): number {
  let n = '>0000 '.length + verb.length + ' *0000\n'.length;
  for (const [k, v] of Object.entries(args)) n += 1 + k.length + 1 + encodeValue(v).length;
  return n;
}

/** The limit the station respects: what the device announced, never more than 512. */
export function deviceFrameLimit(hello: Pick<DeviceHello, 'maxFrameBytes'>): number {
  return Math.min(hello.maxFrameBytes, MAX_FRAME_BYTES);
}

export function configArgs(config: ProvisioningConfig): Record<string, string> {
  const args: Record<string, string> = { realm: config.realm, device_id: config.deviceId, pairing_url: config.pairingUrl };
  if (config.brokerUrl) args.broker_url = config.brokerUrl;
  return args;
}

/** Why this station cannot provision this device at all, whatever the config; undefined when it can. */
export function deviceUnsuitable(hello: DeviceHello): string | undefined {
  const missing = REQUIRED_CAPABILITIES.filter((c) => !hello.capabilities.includes(c));
  if (missing.length > 0) return `the device lacks the capabilit${missing.length > 1 ? 'ies' : 'y'} ${missing.join(', ')}`;
  if (hello.maxFrameBytes < MIN_DEVICE_MAX_BYTES)
    return `the device announces max=${hello.maxFrameBytes}, below the minimum of ${MIN_DEVICE_MAX_BYTES}`;
  return undefined;
}

export function planConfig(config: ProvisioningConfig, hello: DeviceHello): ConfigPlan {
  const args = configArgs(config);
  const bad = invalidValue(args);
  if (bad) return { refused: bad, cause: 'config' };
  const limit = deviceFrameLimit(hello);
  const whole = requestBytes('CONFIG', args);
  if (whole <= limit) return { parts: [args] };
  if (hello.minor < 1) {
    return {
      refused: `CONFIG needs ${whole} bytes, the device takes ${limit} and speaks protocol 1.0 (no CONFIG parts)`,
      cause: 'device',
    };
  }
  // At most four keys in a fixed order: try every split into consecutive parts, fewest parts first.
  const entries = Object.entries(args);
  let best: Record<string, string>[] | undefined;
  for (let cuts = 0; cuts < 1 << (entries.length - 1); cuts++) {
    const parts: Record<string, string>[] = [{}];
    entries.forEach(([key, value], i) => {
      if (i > 0 && cuts & (1 << (i - 1))) parts.push({});
      parts[parts.length - 1][key] = value;
    });
    for (const p of parts.slice(0, -1)) p.more = '1';
    if (parts.every((p) => requestBytes('CONFIG', p) <= limit) && (!best || parts.length < best.length)) best = parts;
  }
  if (best) return { parts: best };
  return { refused: `CONFIG cannot be split into frames of ${limit} bytes (a single value is too long)`, cause: 'device' };
}

/** The station's own config against the protocol's value rules: a device would refuse it after LOCK. */
function invalidValue(args: Record<string, string>): string | undefined {
  for (const key of CONFIG_KEYS) {
    const problem = args[key] === undefined ? undefined : configValueProblem(key, args[key]);
    if (problem) return problem;
  }
  return undefined;
}
