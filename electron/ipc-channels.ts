// The IPC contract between preload and main: every StationApi method except subscribe goes through
// one invoke channel, named and checked here so neither side can call anything else.
import type { StationApi } from '../src/api/station-api.ts';

export const INVOKE_CHANNEL = 'imprint:call';
export const SUBSCRIBE_CHANNEL = 'imprint:subscribe';
/** Main → renderer only: main never listens on it. */
export const EVENT_CHANNEL = 'imprint:event';

/**
 * Every channel main listens on, and how (`invoke` answers, `send` is one-way). Main registers a
 * guarded handler for each of these and for nothing else (electron/ipc-guard.ts refuses others).
 */
export const IPC_CHANNELS = { [INVOKE_CHANNEL]: 'invoke', [SUBSCRIBE_CHANNEL]: 'send' } as const;
export type IpcChannel = keyof typeof IPC_CHANNELS;
export type InvokeChannel = { [C in IpcChannel]: (typeof IPC_CHANNELS)[C] extends 'invoke' ? C : never }[IpcChannel];
export type SendChannel = { [C in IpcChannel]: (typeof IPC_CHANNELS)[C] extends 'send' ? C : never }[IpcChannel];

/** What an invoke answers: errors cross the bridge as plain data (code, message, hint). */
export type IpcReply = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string; hint?: string } };

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
  'queryRemoteAuditPage',
  'verifyAudit',
  'exportAudit',
  'queryAuditPage',
  'exportDevices',
  'acknowledgeFailure',
  'testPrint',
  'reprintLabel',
  'unlockAdmin',
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
