// The preload bridge: exposes the StationApi as `window.imprint` and nothing else. Runs sandboxed
// with context isolation; it forwards calls to the main process and never holds state or logic.
import { contextBridge, type IpcRendererEvent, ipcRenderer } from 'electron';
import type { StationApi, StationEvent } from '../src/api/station-api.ts';
import { EVENT_CHANNEL, INVOKE_CHANNEL, type IpcReply, STATION_METHODS, SUBSCRIBE_CHANNEL } from './ipc-channels.ts';

const api: Record<string, unknown> = {};

for (const method of STATION_METHODS) {
  api[method] = async (...args: unknown[]) => {
    // Main answers with an envelope: errors crossing the bridge keep only their message.
    const reply = (await ipcRenderer.invoke(INVOKE_CHANNEL, method, args)) as IpcReply;
    if (reply.ok) return reply.value;
    const { message, hint } = reply.error;
    throw new Error(hint ? `${message.replace(/\.$/, '')}. ${hint}` : message);
  };
}
api.subscribe = (listener: (event: StationEvent) => void) => {
  const handler = (_e: IpcRendererEvent, event: StationEvent) => listener(event);
  ipcRenderer.on(EVENT_CHANNEL, handler);
  ipcRenderer.send(SUBSCRIBE_CHANNEL);
  return () => {
    ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  };
};

contextBridge.exposeInMainWorld('imprint', api as unknown as StationApi);
