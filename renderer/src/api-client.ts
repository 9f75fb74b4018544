// The one StationApi the views use: the Electron preload bridge (window.imprint) when present,
// otherwise the same API over HTTP + server-sent events (web mode). Either way a StationLink
// watches whether the station is there.
import { HttpStationClient } from '../../src/api/http-station-client.ts';
import type { StationApi } from './api-types.ts';
import { errorSentence } from './error-sentences.ts';
import { takeSessionToken } from './session-token.ts';
import { StationLink } from './station-link.ts';

declare global {
  interface Window {
    imprint?: StationApi;
  }
}

/** How long a stream the browser gave up on (it answered 401, or not as a stream) waits before a new try. */
const REOPEN_MS = 1000;

/**
 * An EventSource that tells the link what happens to it. The browser reconnects by itself after a
 * dropped connection (the server asks for 1 s); after a refusal it stops, so we open a new one.
 */
function eventStreamOpener(link: StationLink) {
  return (url: string, onData: (data: string) => void): (() => void) => {
    let source: EventSource | undefined;
    let reopen: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    const open = () => {
      source = new EventSource(url);
      source.onopen = () => link.streamOpened();
      source.onmessage = (e: MessageEvent<string>) => {
        link.streamMessage();
        onData(e.data);
      };
      source.onerror = () => {
        link.streamFailed();
        if (source?.readyState === EventSource.CLOSED && !closed) reopen = setTimeout(open, REOPEN_MS);
      };
    };
    open();
    return () => {
      closed = true;
      clearTimeout(reopen);
      source?.close();
    };
  };
}

export type StationClient =
  | { api: StationApi; link: StationLink; transport: 'electron' | 'web' }
  | { api: undefined; problem: string };

/** Web mode with this session token. */
export function webClient(token: string): StationClient {
  const link = new StationLink();
  const api = new HttpStationClient({ baseUrl: '', token, openEvents: eventStreamOpener(link) });
  return { api, link, transport: 'web' };
}

export function createStationClient(): StationClient {
  if (window.imprint) return { api: window.imprint, link: new StationLink(), transport: 'electron' };
  const token = takeSessionToken();
  if (!token) {
    return {
      api: undefined,
      problem:
        'This page has no session token. Open the full address the station printed when it started (it ends in #token=…): `imprint web` and `npm start` print it in their terminal.',
    };
  }
  return webClient(token);
}

/** A sentence for a person from anything thrown by an API call. */
export function errorText(e: unknown): string {
  return errorSentence(e);
}
