// Every way a device or its link can fail, as the serial layer sees it: wire error codes the device
// sends (docs/device-protocol.md) and the station's own link codes. The station maps each to a
// device failure with an operator action (src/station/failure-codes.ts). Never carries a secret.
import { errorClass } from '../common/errors.ts';

export const DEVICE_ERRORS = {
  ALREADY_WRITTEN: {
    message: 'The device already stores a different secret (its storage is write-once).',
    action: 'Set the device aside for QA: it may have been provisioned elsewhere.',
  },
  LOCKED: {
    message: 'The device storage is locked.',
    action: 'Set the device aside for QA.',
  },
  TORN: {
    message: 'The device storage is torn by an interrupted write.',
    action: 'Set the device aside for QA: its secure storage needs a factory repair.',
  },
  NOT_ALLOWED: {
    message: 'The device does not allow this command.',
    action: 'Check the device model and firmware: the command is not enabled on it.',
  },
  BAD_ARGUMENT: {
    message: 'The device refused an argument of the command.',
    action: 'Check the realm, pairing URL and broker URL in the station settings.',
  },
  UNKNOWN_COMMAND: {
    message: 'The device does not know the command.',
    action: 'Check the device firmware speaks the device protocol (imprint device-test PORT).',
  },
  UNSUPPORTED_VERSION: {
    message: 'The device speaks a protocol version this station does not.',
    action: 'Set the device aside and tell engineering its model and firmware version.',
  },
  UNSUPPORTED_DEVICE: {
    message: 'The device lacks a capability the station needs, or takes frames too short for its configuration.',
    action: 'Set the device aside and tell engineering its model and firmware version.',
  },
  DEVICE_FAULT: {
    message: 'The device reported an internal fault or answered something malformed.',
    action: 'Set the device aside for QA.',
  },
  TIMEOUT: {
    message: 'The device did not answer.',
    action: 'Check the cable and that the device is powered and in programming mode; if it keeps timing out, set it aside.',
  },
  DISCONNECTED: {
    message: 'The device was disconnected (unplugged, or its port closed).',
    action: 'Plug the device back in and run it again.',
  },
  USB_PORT_NOT_FOUND: {
    message: 'No serial port with the USB identity of this fixture is plugged in.',
    action: 'Plug the fixture adapter in; the station finds it again by its USB identity.',
  },
  USB_PORT_AMBIGUOUS: {
    message: 'Several serial ports have the USB identity of this fixture.',
    action: "Add the adapter's USB serial number to the fixture so the station can tell them apart.",
  },
  PORT_ERROR: {
    message: 'The serial port could not be opened.',
    action:
      'If the port does not exist: is the device plugged in, is the path right? If it is in use: close the other program (or fixture) using it. If permission is denied: add the station user to the dialout group.',
  },
} as const;

export type DeviceErrorCode = keyof typeof DEVICE_ERRORS;

/** A device-side or link-level failure. */
export const DeviceError = errorClass('DeviceError', DEVICE_ERRORS);
export type DeviceError = InstanceType<typeof DeviceError>;

export function isDeviceError(e: unknown, code?: DeviceErrorCode): e is DeviceError {
  return e instanceof DeviceError && (code === undefined || e.code === code);
}
