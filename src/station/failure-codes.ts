// Every way a device can fail at the station: a stable code, what happened (for the operator)
// and what to do now. The UI shows message + action; QA searches the audit trail by code.

import { ImprintError } from '../common/errors.ts';
import type { FailureInfo } from './station-types.ts';

export const FAILURES = {
  LABEL_UNREADABLE: {
    message: 'The scanned label could not be read as a serial, MAC or device id.',
    action: 'Rescan the label. If it fails again, set the device aside for relabelling.',
  },
  LABEL_MISMATCH: {
    message: 'The label does not match the serial the device reports (possible label swap).',
    action: 'Do not relabel on the line. Set the device aside in the QA bin with its label.',
  },
  IDENTITY_UNREADABLE: {
    message: 'The device did not report a usable hardware identity.',
    action: 'Reseat the device in the fixture and retry; if it fails again, set it aside for QA.',
  },
  UNSUPPORTED_DEVICE: {
    message: 'The device speaks a protocol version this station does not support.',
    action: 'Set the device aside and tell engineering its model and firmware version.',
  },
  INVALID_DEVICE_ID: {
    message: 'No valid device id could be made from the label.',
    action: 'Check the device id rule in the station settings, then rescan.',
  },
  ALREADY_PROVISIONED: {
    message: 'The device already holds a confirmed secret: it was not registered again.',
    action: 'Remove the device and pass it on: it is already provisioned. Do not rework it.',
  },
  UNKNOWN_SECRET: {
    message: 'The device storage holds a secret this station did not write.',
    action: 'Set the device aside for QA: it may have been provisioned elsewhere.',
  },
  STORAGE_TORN: {
    message: 'The device storage is torn by an interrupted write (power loss).',
    action: 'Set the device aside for QA: its secure storage needs a factory repair.',
  },
  STORAGE_LOCKED: {
    message: 'The device storage is locked and cannot take a secret.',
    action: 'Set the device aside for QA.',
  },
  // Kept for trails written before the line paused for an unreachable core (LINE_FAULTS).
  PAIRING_UNREACHABLE: {
    message: 'The pairing core did not answer: the device was not registered.',
    action: 'Keep the device, tell plant IT the pairing core is down, retry when it is back.',
  },
  PAIRING_REJECTED: {
    message: 'The pairing core refused to register the device.',
    action: 'Set the device aside for QA and tell plant IT its device id: the core refused this device.',
  },
  DEVICE_ALREADY_REGISTERED: {
    message: 'The pairing core says this device is already registered and in use.',
    action: 'Set the device aside for QA: a device with this id is already live.',
  },
  WRITE_FAILED: {
    message: 'The device refused the secret write.',
    action: 'Set the device aside for QA.',
  },
  DIGEST_MISMATCH: {
    message: 'The device stored something other than the secret it was sent.',
    action: 'Set the device aside for QA: its storage may be faulty.',
  },
  LOCK_FAILED: {
    message: 'The device did not lock its secure storage.',
    action: 'Reseat the device and run it again: the station will finish it.',
  },
  CONFIG_FAILED: {
    message: 'The device did not accept its provisioning configuration.',
    action: 'Reseat the device and run it again: the station will finish it.',
  },
  DEVICE_TIMEOUT: {
    message: 'The device stopped answering.',
    action: 'Reseat the device and run it again; if it keeps timing out, check the cable or set it aside.',
  },
  DEVICE_DISCONNECTED: {
    message: 'The device was unplugged or its port closed.',
    action: 'Plug the device back in and run it again: the station will resume where it stopped.',
  },
  PORT_ERROR: {
    message: 'The fixture port could not be opened.',
    action: 'Check the fixture cable and the port in the station settings.',
  },
  DEVICE_FAULT: {
    message: 'The device reported an internal fault.',
    action: 'Set the device aside for QA.',
  },
  DEVICE_GONE: {
    message: 'The device left the line holding its confirmed secret before it was locked and configured.',
    action: 'If the device turns up, set it aside for QA with its serial: it was not finished.',
  },
  RECOVERY_MISMATCH: {
    message: 'After a station restart the device holds a secret that does not match the pending record.',
    action: 'Set the device aside for QA with its serial.',
  },
  STATION_ERROR: {
    message: 'The station hit an unexpected error.',
    action: 'Run the device again; if it repeats, tell plant IT and attach the station log.',
  },
} as const satisfies Record<string, { message: string; action: string }>;

export type FailureCode = keyof typeof FAILURES;

export function failureInfo(code: FailureCode): FailureInfo {
  return { code, ...FAILURES[code] };
}

/** A workflow failure: the device is rejected with a code the operator and QA can act on. */
export class StationFailure extends ImprintError {
  declare readonly code: FailureCode;
  readonly action: string;

  constructor(code: FailureCode, opts: { detail?: string; cause?: unknown } = {}) {
    const f = FAILURES[code];
    super(code, opts.detail ? `${f.message} (${opts.detail})` : f.message, { hint: f.action, cause: opts.cause });
    this.name = 'StationFailure';
    this.action = f.action;
  }

  get info(): FailureInfo {
    return { code: this.code, message: this.message, action: this.action };
  }
}
