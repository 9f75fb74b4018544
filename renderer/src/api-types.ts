// The types the views use, all taken from the one station API (src/api/station-api.ts): the renderer
// sees nothing else of src/. Audit and batch shapes are read off the API's own method signatures.
import type { StationApi } from '../../src/api/station-api.ts';

export type {
  BatchReport,
  FixtureState,
  LinePause,
  PairingStatus,
  PortInfo,
  PortTestResult,
  SettingsPatch,
  ShiftCounters,
  StationApi,
  StationEvent,
  StationSettings,
  StationStatus,
  SyncStatus,
} from '../../src/api/station-api.ts';

type Answer<M extends keyof StationApi> = StationApi[M] extends (...args: never[]) => Promise<infer R> ? R : never;

export type AuditEvent = Answer<'queryAudit'>[number];
export type AuditQuery = Parameters<StationApi['queryAudit']>[0];
/** A QA search: the query and `find` (the start of a serial, device id, operator or work order, any case). */
export type AuditSearch = Parameters<StationApi['queryAuditPage']>[0];
export type AuditPageAnswer = Answer<'queryAuditPage'>;
export type Batch = Answer<'listBatches'>[number];
export type ChainStatus = Answer<'verifyAudit'>;
