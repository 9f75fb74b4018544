// Fixture ports matched by USB identity (vendor id, product id, serial number) instead of path:
// a USB-serial adapter can come back as /dev/ttyUSB1 after a re-plug, and keeps its fixture.
import { DeviceError } from './device-error.ts';
import { osSerialPorts } from './ports.ts';

export interface UsbIdentity {
  vendorId: string;
  productId: string;
  serialNumber?: string;
}

/** What the OS lists of a port (SerialPort.list(), a binding's list()). */
export interface ListedUsbPort {
  path: string;
  vendorId?: string;
  productId?: string;
  serialNumber?: string;
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** The ports with this identity (hex ids compared without case; the serial number exactly). */
export function matchUsbPorts(ports: readonly ListedUsbPort[], usb: UsbIdentity): ListedUsbPort[] {
  return ports.filter(
    (p) =>
      same(p.vendorId, usb.vendorId) &&
      same(p.productId, usb.productId) &&
      (usb.serialNumber === undefined || p.serialNumber === usb.serialNumber),
  );
}

export function describeUsb(usb: UsbIdentity): string {
  return `USB ${usb.vendorId}:${usb.productId}${usb.serialNumber ? ` serial ${usb.serialNumber}` : ''}`;
}

/**
 * The path of the one port with this identity now. No match, or several without a serial number
 * to tell them apart, is an error that names the identity (the fixture retries until it is there).
 */
export async function resolveUsbPort(usb: UsbIdentity, list: () => Promise<ListedUsbPort[]> = osUsbPorts): Promise<string> {
  const found = matchUsbPorts(await list(), usb);
  if (found.length === 1) return found[0].path;
  if (found.length === 0) throw new DeviceError('USB_PORT_NOT_FOUND', describeUsb(usb));
  throw new DeviceError('USB_PORT_AMBIGUOUS', `${describeUsb(usb)}: ${found.map((p) => p.path).join(', ')}`);
}

/** The OS's ports with their USB identity, or USB_PORT_NOT_FOUND saying why the OS cannot tell identities. */
async function osUsbPorts(): Promise<ListedUsbPort[]> {
  const { ports, usbIdentity } = await osSerialPorts();
  if (!usbIdentity)
    throw new DeviceError(
      'USB_PORT_NOT_FOUND',
      'udevadm is not installed, so this system cannot tell serial ports by USB identity: install udev, or give the fixture its port path',
    );
  return ports;
}
