// The one typed station API the UI uses for everything. Implemented once over the station
// (src/station) and carried by two transports: Electron IPC (window.imprint, via the preload
// bridge) and HTTP + server-sent events in web mode. Plain data only: it crosses process borders.
import type { AuditPage, AuditSearch } from '../audit/audit-page-query.ts';
import type { AuditEvent, AuditQuery, Batch, ChainStatus } from '../audit/audit-types.ts';
import type { PortInfo } from '../serial/ports.ts';
import type { BatchReport } from '../station/station-records.ts';
import type { OperatorSession, SettingsPatch, StationEvent, StationSettings, StationStatus } from '../station/station-types.ts';
import type { SyncStatus } from '../sync/sync-status.ts';

export type { AuditPage, AuditSearch } from '../audit/audit-page-query.ts';
// Each layer owns its vocabulary; the API names it once for its clients (the renderer imports
// types from this file only).
export type {
  AuditEvent,
  AuditEventInput,
  AuditQuery,
  Batch,
  BatchSummary,
  ChainStatus,
} from '../audit/audit-types.ts';
export type { PortInfo } from '../serial/ports.ts';
export type { BatchReport } from '../station/station-records.ts';
export type {
  FailureInfo,
  FixtureSettings,
  FixtureState,
  HeldFailure,
  LabelPrinterSettings,
  LinePause,
  LineSource,
  OperatorSession,
  PairingStatus,
  PostPassHookSettings,
  RecentFailure,
  Role,
  SettingsPatch,
  ShiftCounters,
  StationEvent,
  StationSettings,
  StationStatus,
  WorkflowStep,
} from '../station/station-types.ts';
export type { SyncConflictView, SyncStatus } from '../sync/sync-status.ts';

/** An admin's unlock of the settings: who, and until when it is shown as unlocked (renewed by each use). */
export interface AdminGrant {
  name: string;
  until: string;
}

export interface PortTestResult {
  path: string;
  ok: boolean;
  /** What answered: a device's hello, a scanner read, or the error. */
  detail: string;
  /** Whether something answered: a device (or printer), nothing, the port is in use, or it failed. */
  answered?: 'device' | 'nothing' | 'in-use' | 'error';
}

/** The device whose label was sent again. */
export interface LabelReprint {
  deviceId?: string;
  hardwareSerial?: string;
  fixture?: string;
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
  /** The remote's central audit a page at a time (newest first); `cursor`: the previous page's `nextCursor` (opaque). */
  queryRemoteAuditPage(query: AuditQuery & { cursor?: string }): Promise<{ events: AuditEvent[]; nextCursor?: string }>;
  verifyAudit(): Promise<ChainStatus>;
  /** `query`: exactly the events it selects, with a signed trailer over their hashes; else the whole trail or batch. */
  exportAudit(opts: { format: 'csv' | 'jsonl'; batchId?: string; query?: AuditSearch }): Promise<string>;
  /** One CSV row per device the search selects (its last record), for a plant's MES. */
  exportDevices(opts: { query?: AuditSearch }): Promise<string>;
  /** Lets a fixture holding a FAIL take its next device (audited with the operator). */
  acknowledgeFailure(fixtureId: string): Promise<void>;
  /** Sends a test label to the configured printer. */
  testPrint(): Promise<PortTestResult>;
  /**
   * The label of the last PASS (of `fixtureId`, when given) again, for the signed-in operator;
   * recorded as `label-print` with `reprint: true`. NO_LABEL_TO_REPRINT before any PASS.
   */
  reprintLabel(fixtureId?: string): Promise<LabelReprint>;
  /** Checks the admin PIN (lockout as for sign-in), audited as `admin-unlock`; the line operator is unchanged. */
  unlockAdmin(pin: string, name?: string): Promise<AdminGrant>;

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
