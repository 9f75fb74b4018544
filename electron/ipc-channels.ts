// The IPC contract between preload and main: every StationApi method except subscribe goes through
// one invoke channel, named and checked here so neither side can call anything else.
import type { StationApi } from '../src/api/station-api.ts';

export const INVOKE_CHANNEL = 'imprint:call';
export const SUBSCRIBE_CHANNEL = 'imprint:subscribe';
export const EVENT_CHANNEL = 'imprint:event';

export const STATION_METHODS = [
  'getStatus',
  'signIn',
  'signOut',
  'start',
  'stop',
  'submitScan',
  'openBatch',
  'closeBatch',
  'listBatches',
  'batchReport',
  'queryAudit',
  'queryRemoteAudit',
  'verifyAudit',
  'exportAudit',
  'getSettings',
  'updateSettings',
  'listPorts',
  'testPort',
  'syncStatus',
  'sync',
] as const satisfies readonly Exclude<keyof StationApi, 'subscribe'>[];

export type StationMethod = (typeof STATION_METHODS)[number];

export function isStationMethod(name: unknown): name is StationMethod {
  return typeof name === 'string' && (STATION_METHODS as readonly string[]).includes(name);
}
