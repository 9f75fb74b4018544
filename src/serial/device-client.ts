// The typed device client: the protocol's commands as methods over a FramedLink on any Duplex
// (a real serial port, a PTY, or an in-process stream pair to the simulator).
import type { Duplex } from 'node:stream';
import type { Logger } from '../common/logger.ts';
import { deviceFrameLimit, deviceUnsuitable, planConfig, requestBytes } from './config-parts.ts';
import { DeviceError, type DeviceErrorCode } from './device-error.ts';
import {
  DIGEST_PATTERN,
  GTIN_PATTERN,
  isValidSecret,
  MAC_PATTERN,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSIONS,
  WIRE_ERROR_CODES,
} from './device-protocol.ts';
import type { DeviceClient, DeviceHello, DeviceIdentity, ProvisioningConfig, StorageStatus } from './device-types.ts';
import type { Frame } from './frame-codec.ts';
import { FramedLink, type LinkStats } from './framed-link.ts';
import { closeStream, type OpenPortOptions, openDevicePort } from './ports.ts';

export interface DeviceClientOptions {
  /** Reply timeout per attempt for quick commands (default 500 ms). */
  timeoutMs?: number;
  /** Reply timeout per attempt for commands that program storage: WRITE, LOCK, CONFIG, RESET (default 3000 ms). */
  writeTimeoutMs?: number;
  /** Retransmissions after the first attempt (default 3). */
  retries?: number;
  logger?: Logger;
  label?: string;
  /** Close the stream on close() (default true). */
  closeStream?: boolean;
}

/** DeviceClient plus what the station needs around it (factory reset for rework benches, state, counters). */
export interface SerialDeviceClient extends DeviceClient {
  /** Factory reset; only devices that announce the `reset` capability and allow it accept. */
  factoryReset(): Promise<void>;
  /**
   * Another device now answers on this connection (a fixture's port stays open from one device to the next):
   * the next command starts a new session with HELLO, so the device is judged by its own version, frame limit
   * and capabilities, not by those of the device before it.
   */
  renewSession(): void;
  readonly isOpen: boolean;
  readonly stats: LinkStats;
}

const PASSTHROUGH_CODES = new Set<string>(WIRE_ERROR_CODES.filter((c) => c !== 'BAD_CRC' && c !== 'BAD_FRAME'));

export function createDeviceClient(stream: Duplex, opts: DeviceClientOptions = {}): SerialDeviceClient {
  const link = new FramedLink(stream, opts);
  const writeTimeoutMs = opts.writeTimeoutMs ?? Math.max(3000, opts.timeoutMs ?? 0);

  // The device's frame limit, known after HELLO; the station never sends a longer frame.
  let frameLimit = MAX_FRAME_BYTES;
  async function call(verb: string, args: Record<string, string> = {}, slow = false): Promise<Record<string, string>> {
    const bytes = requestBytes(verb, args);
    if (bytes > frameLimit) {
      throw new DeviceError('UNSUPPORTED_DEVICE', `${verb} needs ${bytes} bytes, the device takes at most ${frameLimit}`);
    }
    const reply = await link.request(verb, args, slow ? { timeoutMs: writeTimeoutMs } : {});
    return okArgs(verb, reply);
  }

  // Every connection starts with HELLO (it also clears the device's reply cache, so a reply from
  // an earlier session can never answer this one). Commands sent before it trigger it.
  let session: Promise<DeviceHello> | undefined;
  async function sessionHello(): Promise<DeviceHello> {
    session ??= client.hello();
    try {
      return await session;
    } catch (e) {
      session = undefined;
      throw e;
    }
  }
  async function ensureSession(): Promise<void> {
    await sessionHello();
  }

  const client: SerialDeviceClient = {
    renewSession() {
      session = undefined;
    },
    get isOpen() {
      return link.isOpen;
    },
    get stats() {
      return link.stats;
    },

    async hello(): Promise<DeviceHello> {
      const a = await call('HELLO', { v: PROTOCOL_VERSIONS.join(',') });
      const version = Number(a.v);
      if (!(PROTOCOL_VERSIONS as readonly number[]).includes(version)) {
        throw new DeviceError(
          'UNSUPPORTED_VERSION',
          `the device chose version ${a.v ?? '(none)'}, the station speaks ${PROTOCOL_VERSIONS.join(', ')}`,
        );
      }
      const hello = helloFrom(a);
      frameLimit = deviceFrameLimit(hello);
      session = Promise.resolve(hello);
      return hello;
    },

    async identity(): Promise<DeviceIdentity> {
      await ensureSession();
      const a = await call('IDENTITY');
      if (!a.serial) throw malformed('IDENTITY', 'no serial');
      const identity: DeviceIdentity = { hardwareSerial: a.serial };
      if (a.mac !== undefined) {
        const mac = a.mac.toUpperCase();
        if (!MAC_PATTERN.test(mac)) throw malformed('IDENTITY', 'mac is not six hex bytes with colons');
        identity.mac = mac;
      }
      if (a.gtin !== undefined) {
        if (!GTIN_PATTERN.test(a.gtin)) throw malformed('IDENTITY', 'gtin is not 14 digits');
        identity.gtin = a.gtin;
      }
      if (a.device_id) identity.deviceId = a.device_id;
      return identity;
    },

    async storageStatus(): Promise<StorageStatus> {
      await ensureSession();
      return parseStatus('STATUS', await call('STATUS'));
    },

    async writeSecret(credentialsSecret: string): Promise<{ digest: string }> {
      if (!isValidSecret(credentialsSecret)) {
        throw new DeviceError(
          'BAD_ARGUMENT',
          'not a credentials secret: expected 32 bytes as Base64 with padding (44 characters)',
        );
      }
      await ensureSession();
      const a = await call('WRITE', { secret: credentialsSecret }, true);
      if (!a.digest || !DIGEST_PATTERN.test(a.digest)) throw malformed('WRITE', 'no digest');
      return { digest: a.digest };
    },

    async lock(): Promise<void> {
      await ensureSession();
      await call('LOCK', {}, true);
    },

    async writeConfig(config: ProvisioningConfig): Promise<void> {
      const hello = await sessionHello();
      const plan = planConfig(config, hello);
      if ('refused' in plan) throw refusal(plan.refused, plan.cause);
      for (const part of plan.parts) await call('CONFIG', part, true);
    },

    async preflight(config: ProvisioningConfig): Promise<void> {
      const hello = await sessionHello();
      const unsuitable = deviceUnsuitable(hello);
      if (unsuitable) throw refusal(unsuitable, 'device');
      const plan = planConfig(config, hello);
      if ('refused' in plan) throw refusal(plan.refused, plan.cause);
    },

    async factoryReset(): Promise<void> {
      await ensureSession();
      await call('RESET', {}, true);
    },

    async close(): Promise<void> {
      link.detach();
      if (opts.closeStream !== false) await closeStream(stream);
    },
  };
  return client;
}

/** Open the port at `path` and run a device client on it; close() closes the port. */
export async function openDeviceClient(
  path: string,
  opts: DeviceClientOptions & OpenPortOptions = {},
): Promise<SerialDeviceClient> {
  const port = await openDevicePort(path, opts);
  return createDeviceClient(port, { label: path, ...opts, closeStream: true });
}

function helloFrom(a: Record<string, string>): DeviceHello {
  const decimal = (key: string, absent: number): number => {
    if (a[key] === undefined) return absent;
    if (!/^(0|[1-9][0-9]{0,5})$/.test(a[key])) throw malformed('HELLO', `${key} is not a decimal number`);
    return Number(a[key]);
  };
  return {
    protocolVersion: Number(a.v),
    minor: decimal('minor', 0),
    model: a.model ?? '',
    firmware: a.fw ?? '',
    capabilities: a.caps ? a.caps.split(',').filter(Boolean) : [],
    // A v1.0 device without `max=` takes what version 1.0 promised: 512 bytes.
    maxFrameBytes: decimal('max', MAX_FRAME_BYTES),
  };
}

/** Refused before anything is written: the device cannot take this (or the station's config is out of the protocol). */
function refusal(why: string, cause: 'device' | 'config'): DeviceError {
  return cause === 'device'
    ? new DeviceError('UNSUPPORTED_DEVICE', `the station cannot provision this device: ${why}`)
    : new DeviceError('BAD_ARGUMENT', `the provisioning config breaks the device protocol: ${why}`);
}

function okArgs(verb: string, reply: Frame): Record<string, string> {
  if (reply.verb === 'OK') return reply.args;
  if (reply.verb === 'ERR') {
    const wire = reply.args.code ?? '';
    const code: DeviceErrorCode = PASSTHROUGH_CODES.has(wire) ? (wire as DeviceErrorCode) : 'DEVICE_FAULT';
    const said = reply.args.msg ? `: ${reply.args.msg}` : '';
    throw new DeviceError(code, `device refused ${verb} (${wire || 'no code'})${said}`, {
      details: { command: verb, wireCode: wire },
    });
  }
  throw malformed(verb, `unexpected reply ${reply.verb}`);
}

function parseStatus(verb: string, a: Record<string, string>): StorageStatus {
  switch (a.state) {
    case 'empty':
      return { state: 'empty' };
    case 'torn':
      return { state: 'torn' };
    case 'written':
    case 'locked':
      if (!a.digest || !DIGEST_PATTERN.test(a.digest)) throw malformed(verb, `state ${a.state} without a digest`);
      return { state: a.state, digest: a.digest };
    default:
      throw malformed(verb, `unknown storage state ${a.state ?? '(none)'}`);
  }
}

function malformed(verb: string, what: string): DeviceError {
  return new DeviceError('DEVICE_FAULT', `malformed reply to ${verb}: ${what}`);
}
