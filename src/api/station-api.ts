// The one typed station API the UI uses for everything. Implemented once over the station
// (src/station) and carried by two transports: Electron IPC (window.imprint, via the preload
// bridge) and HTTP + server-sent events in web mode. Plain data only: it crosses process borders.
import type { AuditPage, AuditSearch } from '../audit/audit-page-query.ts';
import type { AuditEvent, AuditQuery, Batch, BatchSummary, ChainStatus } from '../audit/audit-types.ts';
import type {
  HeldFailure,
  LabelPrinterSettings,
  LineSource,
  PostPassHookSettings,
  RecentFailure,
} from '../station/plant-types.ts';

export type { AuditPage, AuditSearch, HeldFailure, LabelPrinterSettings, LineSource, PostPassHookSettings, RecentFailure };

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
  mode: 'embedded' | 'remote' | 'remote-with-offline-fallback';
  url?: string;
  realm: string;
  reachable: boolean;
  /** True while registering in the embedded core under an offline batch. */
  offline: boolean;
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
  deviceIdRule: { kind: 'uuidv5'; namespace: string } | { kind: 'as-scanned' };
  fixtures: FixtureSettings[];
  /** Run simulated fixtures when no fixture port is configured. */
  simulatedFixtures: number;
  /** Each fixture waits for a label scan (keyboard wedge or scanner port) before each device. */
  requireScan?: boolean;
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

export interface PortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
  /** Configured by hand (e.g. a PTY) rather than discovered. */
  configured?: boolean;
}

export interface PortTestResult {
  path: string;
  ok: boolean;
  /** What answered: a device's hello, a scanner read, or the error. */
  detail: string;
  /** Whether something answered: a device (or printer), nothing, the port is in use, or it failed. */
  answered?: 'device' | 'nothing' | 'in-use' | 'error';
}

export interface BatchReport {
  batch: Batch;
  summary: BatchSummary;
  throughputPerHour: { hour: string; passed: number; failed: number }[];
  failuresByCode: { code: string; count: number }[];
}

/** Offline batches and sync (issue 6, docs/sync.md). */
export interface SyncConflictView {
  deviceId: string;
  batch?: string;
  reason: string;
  at: string;
  remote: string;
}

export interface SyncStatus {
  /** The remote pairing core synced to (pairing.url); undefined when none is configured. */
  remote?: string;
  /** Registrations of the embedded core the remote has not accepted yet (conflicts included). */
  pendingDevices: number;
  /** Audit events past the remote's last acknowledgement. */
  pendingEvents: number;
  lastSync?: { at: string; remote: string; imported: number; alreadyPresent: number; conflicts: number; eventsSent: number };
  /** Devices the remote refused (registered elsewhere, already confirmed): for QA. */
  conflicts: SyncConflictView[];
  /** What QA does about a conflict. */
  advice: string;
}

export interface StationApi {
  getStatus(): Promise<StationStatus>;
  /** Live events; returns an unsubscribe function. */
  subscribe(listener: (event: StationEvent) => void): () => void;

  signIn(credentials: { name?: string; badge?: string; pin?: string }): Promise<OperatorSession>;
  signOut(): Promise<void>;

  start(): Promise<void>;
  stop(): Promise<void>;
  /** A scan from the always-focused scan field (keyboard-wedge scanner) or typed by hand. */
  submitScan(text: string, fixtureId?: string): Promise<void>;

  openBatch(workOrder: string): Promise<Batch>;
  closeBatch(): Promise<Batch>;
  listBatches(): Promise<Batch[]>;
  batchReport(batchId: string): Promise<BatchReport>;

  queryAudit(query: AuditQuery): Promise<AuditEvent[]>;
  /** One page (newest first) with the total of every match; `find` is a case-insensitive prefix. */
  queryAuditPage(query: AuditSearch): Promise<AuditPage>;
  /**
   * The same search over the central audit of every station on the remote pairing core
   * (pairing.url, with the station's agent token, which stays in the station). Errors:
   * NO_REMOTE / AGENT_TOKEN_MISSING when not configured, UNREACHABLE when the remote does not answer.
   */
  queryRemoteAudit(query: AuditQuery): Promise<AuditEvent[]>;
  verifyAudit(): Promise<ChainStatus>;
  /** `query`: exactly the events it selects, with a signed trailer over their hashes; else the whole trail or batch. */
  exportAudit(opts: { format: 'csv' | 'jsonl'; batchId?: string; query?: AuditSearch }): Promise<string>;
  /** One CSV row per device the search selects (its last record), for a plant's MES. */
  exportDevices(opts: { query?: AuditSearch }): Promise<string>;
  /** Lets a fixture holding a FAIL take its next device (audited with the operator). */
  acknowledgeFailure(fixtureId: string): Promise<void>;
  /** Sends a test label to the configured printer. */
  testPrint(): Promise<PortTestResult>;

  getSettings(): Promise<StationSettings>;
  /** Admin only: `pin` is the admin PIN; the change is audited. */
  updateSettings(patch: SettingsPatch, pin: string): Promise<StationSettings>;
  listPorts(): Promise<PortInfo[]>;
  testPort(path: string): Promise<PortTestResult>;

  /** What is left to push to the remote pairing core (no network). */
  syncStatus(): Promise<SyncStatus>;
  /** Push offline registrations and audit events to the remote core now (signed-in user). */
  sync(): Promise<SyncStatus>;
}
