// Devices on a real fixture port (or a PTY): the port stays open across devices, and each device
// presented gets a session of its own (HELLO); a device is "present" when it answers IDENTITY.
// Without a scanner, a new device is one whose serial differs from the last one, or one that appears
// after the fixture was seen empty (so a re-seated device is picked up again, and a finished one is
// not run twice).

import type { Logger } from '../common/logger.ts';
import { silentLogger } from '../common/logger.ts';
import { createDeviceClient, type SerialDeviceClient } from '../serial/device-client.ts';
import { openDevicePort } from '../serial/ports.ts';
import { type ListedUsbPort, resolveUsbPort } from '../serial/usb-match.ts';
import { type DeviceSource, type PresentedDevice, sleep } from './fixture-runner.ts';
import type { ProvisionResult } from './provisioning-workflow.ts';
import type { DeviceLocator } from './recovery.ts';
import type { FixtureSettings } from './station-types.ts';

export interface PortDeviceSourceOptions {
  fixture: FixtureSettings;
  /** A scanner triggers each device: skip the "new serial" wait. */
  scanTriggered: boolean;
  /** How often an empty or finished fixture is polled (default 300 ms). */
  pollMs?: number;
  logger?: Logger;
  /** How USB ports are listed (a fixture with `usb` is found by identity at each open). */
  listUsb?: () => Promise<ListedUsbPort[]>;
}

export class PortDeviceSource implements DeviceSource {
  readonly simulated = false;
  readonly devicePort: string;
  readonly scannerPort?: string;
  private readonly opts: PortDeviceSourceOptions;
  private readonly log: Logger;
  private client?: SerialDeviceClient;
  /** Serial of the device last run here, until the fixture is seen empty. */
  private lastSerial?: string;
  /** Whether a device was presented on the open connection (the next one then needs a HELLO of its own). */
  private presentedOnSession = false;
  private openFailures = 0;

  constructor(opts: PortDeviceSourceOptions) {
    this.opts = opts;
    this.devicePort = opts.fixture.devicePort;
    this.scannerPort = opts.fixture.scannerPort;
    this.log = (opts.logger ?? silentLogger).child({ fixture: opts.fixture.id, port: this.devicePort });
  }

  async next(signal: AbortSignal): Promise<PresentedDevice | undefined> {
    const pollMs = this.opts.pollMs ?? 300;
    while (!signal.aborted) {
      const client = await this.ensureOpen(signal);
      if (!client) return undefined;
      let serial: string | undefined;
      try {
        serial = (await client.identity()).hardwareSerial;
      } catch {
        serial = undefined;
      }
      if (serial === undefined || !client.isOpen) {
        this.lastSerial = undefined; // the fixture is empty (or the device is silent)
        if (!client.isOpen) this.client = undefined;
      } else if (this.opts.scanTriggered || serial !== this.lastSerial) {
        // The port stayed open, the device may not have: a device after the first on this connection gets
        // its own HELLO before the workflow checks it (the first got the connection's).
        if (this.presentedOnSession) client.renewSession();
        this.presentedOnSession = true;
        return this.present(client, serial);
      }
      await sleep(pollMs, signal);
    }
    return undefined;
  }

  markHandled(hardwareSerial: string): void {
    this.lastSerial = hardwareSerial;
  }

  /** Polls IDENTITY: removed once no device answers, another serial answers, or the port went away. */
  async whenRemoved(hardwareSerial: string | undefined, signal: AbortSignal): Promise<boolean> {
    // A device that never said who it is cannot be told from an empty fixture: only Acknowledge releases it.
    if (hardwareSerial === undefined) return untilAborted(signal);
    const pollMs = this.opts.pollMs ?? 300;
    while (!signal.aborted) {
      await sleep(pollMs, signal);
      if (signal.aborted) break;
      const client = this.client;
      if (!client?.isOpen) return true;
      let serial: string | undefined;
      try {
        serial = (await client.identity()).hardwareSerial;
      } catch {
        serial = undefined;
      }
      if (signal.aborted) break;
      if (serial !== hardwareSerial) return true;
    }
    return false;
  }

  private present(client: SerialDeviceClient, serial: string): PresentedDevice {
    return {
      client,
      devicePort: this.devicePort,
      release: async (result?: ProvisionResult) => {
        // A device that failed before it said who it is is still the one that answered the poll.
        if (result) this.lastSerial = result.hardwareSerial ?? serial;
        if (!client.isOpen) this.client = undefined;
      },
    };
  }

  private async ensureOpen(signal: AbortSignal): Promise<SerialDeviceClient | undefined> {
    while (!signal.aborted) {
      if (this.client?.isOpen) return this.client;
      if (this.client) {
        await this.client.close().catch(() => {});
        this.client = undefined;
        this.lastSerial = undefined;
      }
      try {
        const usb = this.opts.fixture.usb;
        const path = usb ? await resolveUsbPort(usb, this.opts.listUsb) : this.devicePort;
        const stream = await openDevicePort(path, { baudRate: this.opts.fixture.baudRate, logger: this.log });
        this.client = createDeviceClient(stream, { label: this.opts.fixture.id, logger: this.log });
        this.presentedOnSession = false;
        this.openFailures = 0;
        return this.client;
      } catch (e) {
        this.openFailures++;
        if (this.openFailures === 1) this.log.warn({ err: (e as Error).message }, 'fixture port not available; retrying');
        await sleep(Math.min(5000, 200 * 2 ** Math.min(this.openFailures, 5)), signal);
      }
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.client?.close().catch(() => {});
    this.client = undefined;
  }
}

function untilAborted(signal: AbortSignal): Promise<false> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    signal.addEventListener('abort', () => resolve(false), { once: true });
  });
}

/** Recovery for configured fixtures: the record's device is whatever answers on its fixture's port. */
export function portDeviceLocator(fixtures: FixtureSettings[], logger?: Logger): DeviceLocator {
  return async ({ fixture, devicePort }) => {
    const settings = fixtures.find((f) => f.id === fixture);
    const path = settings?.usb ? await resolveUsbPort(settings.usb) : (settings?.devicePort ?? devicePort);
    if (!path) return undefined;
    const stream = await openDevicePort(path, { baudRate: settings?.baudRate, logger });
    const client = createDeviceClient(stream, { label: `${fixture}:recovery`, logger });
    return { client, devicePort: path, release: () => client.close() };
  };
}
