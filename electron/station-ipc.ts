// The station API over IPC, main side: one invoke channel for every method, one channel to
// subscribe to events. The API arrives when the core child is up; handlers are registered before
// (at startup), and a foreign sender is refused without waiting for it.
import type { StationApi } from '../src/api/station-api.ts';
import { EVENT_CHANNEL, INVOKE_CHANNEL, isStationMethod, SUBSCRIBE_CHANNEL } from './ipc-channels.ts';
import { handleFromTrusted, onFromTrusted, REFUSED, type SenderCheck } from './ipc-guard.ts';

export function wireStationIpc(station: Promise<StationApi>, trusted: SenderCheck): void {
  handleFromTrusted(INVOKE_CHANNEL, trusted, async (_event, method, args) => {
    if (!isStationMethod(method) || !Array.isArray(args)) return REFUSED;
    try {
      const api = await station;
      const fn = api[method] as (...a: unknown[]) => Promise<unknown>;
      return { ok: true, value: await fn.apply(api, args) };
    } catch (e) {
      const err = e as { code?: string; message?: string; hint?: string };
      return { ok: false, error: { code: err.code ?? 'ERROR', message: err.message ?? String(e), hint: err.hint } };
    }
  });

  let unsubscribe: (() => void) | undefined;
  onFromTrusted(SUBSCRIBE_CHANNEL, trusted, (event) => {
    const target = event.sender;
    void station.then((api) => {
      unsubscribe?.();
      unsubscribe = api.subscribe((e) => {
        if (!target.isDestroyed()) target.send(EVENT_CHANNEL, e);
      });
      target.once('destroyed', () => unsubscribe?.());
    });
  });
}
