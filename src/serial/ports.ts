// Serial ports: discovery (the OS list plus configured paths such as PTYs) and opening with clear
// errors. Everything above this file sees a Duplex stream, so a mock binding or a PTY fits too.
import { existsSync, readdirSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import { type OpenOptions, SerialPortStream } from '@serialport/stream';
import { SerialPort } from 'serialport';
import type { Logger } from '../common/logger.ts';
import { DeviceError } from './device-error.ts';
import { InPlaceLinuxBinding } from './in-place-io-binding.ts';

export const DEFAULT_BAUD_RATE = 115200;

export interface PortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  /** Configured by hand (e.g. a PTY) rather than discovered. */
  configured?: boolean;
}

/** serialport's binding seam (@serialport/bindings-interface ships no types for ESM resolution). */
export type BindingInterface = OpenOptions['binding'];

export interface ListedPort {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

export interface OpenPortOptions {
  baudRate?: number;
  /** Another binding (e.g. @serialport/binding-mock's MockBinding); the real one by default. */
  binding?: BindingInterface;
  logger?: Logger;
}

/** The device nodes of USB serial adapters (and a Raspberry Pi's UART), listed by name when the OS cannot list. */
const ADAPTER_NODE = /^tty(USB|ACM|AMA|XRUSB)\d+$/;

/**
 * The serial ports the OS knows. On Linux serialport lists them through `udevadm`; where it is missing (a
 * container, a minimal install) that listing fails: the adapters' device nodes in `devDir` are then listed by
 * name, without their USB identity (`usbIdentity: false`).
 */
export async function osSerialPorts(
  list: () => Promise<ListedPort[]> = () => SerialPort.list(),
  devDir = '/dev',
): Promise<{ ports: ListedPort[]; usbIdentity: boolean }> {
  try {
    return { ports: await list(), usbIdentity: true };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ENOENT' || !String(err.syscall ?? err.message).includes('udevadm')) throw e;
    const nodes = readdirSync(devDir).filter((n) => ADAPTER_NODE.test(n));
    return { ports: nodes.sort().map((n) => ({ path: `${devDir}/${n}` })), usbIdentity: false };
  }
}

/** Ports the OS knows plus configured paths (marked `configured`), each path once. */
export async function listPorts(extraPaths: string[] = [], binding?: BindingInterface): Promise<PortInfo[]> {
  const found: ListedPort[] = binding ? await binding.list() : (await osSerialPorts()).ports;
  const out: PortInfo[] = found.map((p) => ({
    path: p.path,
    ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
    ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
    ...(p.vendorId ? { vendorId: p.vendorId } : {}),
    ...(p.productId ? { productId: p.productId } : {}),
  }));
  for (const path of extraPaths) {
    const known = out.find((p) => p.path === path);
    if (known) known.configured = true;
    else out.push({ path, configured: true });
  }
  return out;
}

/** Whether a configured path is present right now (a PTY link or a device node). */
export function portPathExists(path: string): boolean {
  return existsSync(path);
}

/**
 * Open a port and resolve once it is open. Rejects with DeviceError PORT_ERROR naming the path and
 * the likely cause (missing, busy, permissions).
 */
export async function openDevicePort(path: string, opts: OpenPortOptions = {}): Promise<SerialPortStream> {
  const baudRate = opts.baudRate ?? DEFAULT_BAUD_RATE;
  return new Promise((resolve, reject) => {
    const done = (e: Error | null) => {
      if (!e) {
        opts.logger?.debug({ port: path, baudRate }, 'port open');
        if (!opts.binding) watchDeviceNode(port, path, opts.logger);
        resolve(port);
        return;
      }
      reject(portError(path, e));
    };
    // On Linux, reads and writes without the thread pool (in-place-io-binding.ts).
    const binding = opts.binding ?? (process.platform === 'linux' ? InPlaceLinuxBinding : undefined);
    const port: SerialPortStream = binding
      ? new SerialPortStream({ binding, path, baudRate }, done)
      : new SerialPort({ path, baudRate }, done);
  });
}

/**
 * Close the port when its device node disappears (USB unplug, PTY pair gone). The kernel's hang-up
 * on a PTY does not always reach serialport's poller, and an idle port never learns of it.
 */
function watchDeviceNode(port: SerialPortStream, path: string, logger?: Logger): void {
  const timer = setInterval(() => {
    if (existsSync(path)) return;
    clearInterval(timer);
    logger?.info({ port: path }, 'device node gone: closing the port');
    if (port.isOpen) port.close(() => undefined, Object.assign(new Error(`${path} disappeared`), { disconnected: true }));
  }, DEVICE_NODE_POLL_MS);
  timer.unref();
  port.once('close', () => clearInterval(timer));
}

const DEVICE_NODE_POLL_MS = 250;

export function portError(path: string, e: Error): DeviceError {
  const text = e.message;
  let why = text;
  if (/No such file|ENOENT|not found/i.test(text)) why = `it does not exist (${text})`;
  else if (/lock|busy|EBUSY/i.test(text)) why = `it is in use by another program or fixture (${text})`;
  else if (/permission|EACCES/i.test(text)) why = `permission denied (${text})`;
  return new DeviceError('PORT_ERROR', `${path}: ${why}`, { cause: e, details: { path } });
}

/** Close a port, resolving when closed (or at once when it already is). */
export async function closePort(port: SerialPortStream): Promise<void> {
  if (!port.isOpen) return;
  await new Promise<void>((resolve) => port.close(() => resolve()));
}

/**
 * Close whatever Duplex a client runs on. A SerialPortStream must be closed, not destroyed:
 * destroy() alone leaves the file descriptor (and its lock) open.
 */
export async function closeStream(stream: Duplex): Promise<void> {
  if (stream instanceof SerialPortStream) {
    await closePort(stream);
    stream.destroy();
    return;
  }
  if (stream.destroyed) return;
  await new Promise<void>((resolve) => {
    stream.once('close', () => resolve());
    stream.destroy();
  });
}
