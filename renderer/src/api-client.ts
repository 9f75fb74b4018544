// The one StationApi the views use: the Electron preload bridge (window.imprint) when present,
// otherwise the same API over HTTP + server-sent events (web mode).
import { HttpStationClient } from '../../src/api/http-station-client.ts';
import type { StationApi } from '../../src/api/station-api.ts';
import { takeSessionToken } from './session-token.ts';

declare global {
  interface Window {
    imprint?: StationApi;
  }
}

function openEventSource(url: string, onData: (data: string) => void): () => void {
  // EventSource reconnects by itself; the server re-sends a full status on every (re)connect.
  const source = new EventSource(url);
  source.onmessage = (e: MessageEvent<string>) => onData(e.data);
  return () => source.close();
}

export type ClientResult = { api: StationApi; transport: 'electron' | 'web' } | { api: undefined; problem: string };

export function createStationClient(): ClientResult {
  if (window.imprint) return { api: window.imprint, transport: 'electron' };
  const token = takeSessionToken();
  if (!token) {
    return { api: undefined, problem: 'No session token. Open the full URL printed by `imprint web` or `npm start`.' };
  }
  return { api: new HttpStationClient({ baseUrl: '', token, openEvents: openEventSource }), transport: 'web' };
}

/** A message for a person from anything thrown by an API call. */
export function errorText(e: unknown): string {
  const err = e as { message?: string; hint?: string };
  if (err?.message) return err.hint ? `${err.message}. ${err.hint}` : err.message;
  return String(e);
}
