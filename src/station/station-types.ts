// The station's vocabulary: workflow steps, fixtures, the operator session, the status snapshot and
// events, and the settings. The station API (src/api/station-api.ts) re-exports these for its clients.
import type { AuditEvent, Batch } from '../audit/audit-types.ts';
import type { DeviceIdRule } from './device-id-rule.ts';
import type { HeldFailure, LabelPrinterSettings, LineSource, PostPassHookSettings, RecentFailure } from './plant-types.ts';

export type { HeldFailure, LabelPrinterSettings, LineSource, PostPassHookSettings, RecentFailure };

import type { PairingMode } from './pairing-mode.ts';

export type WorkflowStep =
  | 'idle'
  | 'waiting-scan'
  | 'identify'
  | 'cross-check'
  | 'storage-status'
  | 'register'
  | 'write-secret'
  | 'verify'
  | 'lock'
  | 'write-config'
  | 'record'
  | 'done';

export interface FailureInfo {
  code: string;
  /** For the operator: what went wrong. */
  message: string;
  /** For the operator: what to do now. */
  action: string;
}

export interface FixtureState {
  id: string;
  label: string;
  simulated: boolean;
  devicePort?: string;
  scannerPort?: string;
  step: WorkflowStep;
  outcome?: 'pass' | 'fail';
  deviceId?: string;
  hardwareSerial?: string;
  failure?: FailureInfo;
  startedAt?: string;
  finishedAt?: string;
  /** The last FAIL of this fixture, kept until acknowledged: the fixture takes no device meanwhile. */
  heldFailure?: HeldFailure;
  /** The label of the last PASS (label printing configured). */
  labelPrint?: 'printed' | 'failed';
  /** The post-PASS hook of the last PASS (configured). */
  hook?: { ok: boolean; exitCode?: number; message?: string };
}

export interface ShiftCounters {
  done: number;
  passed: number;
  failed: number;
  devicesPerHour: number;
  since: string;
  /** The open batch's record events, from the trail. */
  batch?: { passed: number; failed: number };
}

export type Role = 'operator' | 'admin';

export interface OperatorSession {
  name: string;
  role: Role;
  signedInAt: string;
}

export interface PairingStatus {
  mode: PairingMode;
  url?: string;
  realm: string;
  reachable: boolean;
  /** Why the remote core is not reachable (an error code or HTTP status), while it is not. */
  unreachableReason?: string;
  /** True while registering in the embedded core under an offline batch. */
  offline: boolean;
  /** `deferred`: devices identified and waiting in their fixture for the core, nothing written to them. */
  parked?: number;
  /** Devices registered offline since the station opened (`remote-with-offline-fallback`), to be synced. */
  registeredOffline?: number;
}

/**
 * The whole line is paused by a fault of the station itself (storage full, pairing core
 * unreachable, agent token refused…), never of a device: no device is failed for it, and the
 * station retries by itself (Start line retries at once).
 */
export interface LinePause {
  code: string;
  /** For the operator: what is wrong with the station. */
  message: string;
  /** For the operator: what to do (and whether the line resumes by itself). */
  action: string;
  /** Where it was seen and the underlying error (for plant IT). */
  detail?: string;
  since: string;
  /** Retries that failed since the pause began. */
  retries: number;
  /** When the station tries again by itself. */
  nextRetryAt?: string;
}

export interface StationStatus {
  stationId: string;
  simulated: boolean;
  running: boolean;
  /** Present while the line is paused by a station fault. */
  linePause?: LinePause;
  operator?: OperatorSession;
  batch?: Batch;
  pairing: PairingStatus;
  fixtures: FixtureState[];
  counters: ShiftCounters;
  /** The last failures of the line, newest first (from the trail at open). */
  recentFailures?: RecentFailure[];
  /** Why the line is what it is (configured fixtures, or simulated). */
  line?: LineSource;
  /** A label printer is configured: a PASS prints a label, and the last one can be reprinted. */
  labelPrinter?: boolean;
  /** What Start line is refused without, now (empty: it can start). */
  startRequires?: ('operator' | 'batch')[];
}

export type StationEvent =
  | { type: 'status'; status: StationStatus }
  | { type: 'fixture'; fixture: FixtureState }
  | { type: 'counters'; counters: ShiftCounters }
  | { type: 'audit'; event: AuditEvent };

export interface FixtureSettings {
  id: string;
  devicePort: string;
  scannerPort?: string;
  baudRate?: number;
  /** Matched by USB identity instead of path, so a re-plugged adapter keeps its fixture. */
  usb?: { vendorId: string; productId: string; serialNumber?: string };
}

export interface StationSettings {
  stationId: string;
  realm: string;
  pairing: {
    mode: PairingStatus['mode'];
    url?: string;
    /** Never returned in full: a masked hint such as "eyJh…k9Q (set)" or undefined when unset. */
    agentToken?: string;
  };
  /** How device ids are made from a label: UUIDv5 of the serial, or the label is the id. */
  deviceIdRule: DeviceIdRule;
  fixtures: FixtureSettings[];
  /** Run simulated fixtures when no fixture port is configured. */
  simulatedFixtures: number;
  /** Each fixture waits for a label scan (keyboard wedge or scanner port) before each device. */
  requireScan?: boolean;
  /** Start line without an open batch (default false: records then carry no batch). */
  allowStartWithoutBatch?: boolean;
  /** Print a label on each PASS (ZPL, raw). */
  labelPrinter?: LabelPrinterSettings;
  /** ZPL with {serial}, {deviceId}, {workOrder}, {batchId}; default: serial, id and a DataMatrix of the id. */
  labelTemplate?: string;
  /** A command run after each PASS with the device's non-secret fields. */
  postPassHook?: PostPassHookSettings;
}

export type SettingsPatch = Partial<Omit<StationSettings, 'pairing' | 'labelPrinter' | 'labelTemplate' | 'postPassHook'>> & {
  pairing?: Partial<StationSettings['pairing']>;
  /** null removes the setting. */
  labelPrinter?: LabelPrinterSettings | null;
  labelTemplate?: string | null;
  postPassHook?: PostPassHookSettings | null;
};
