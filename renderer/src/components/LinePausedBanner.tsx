import type { LinePause } from '../../../src/api/station-api.ts';

/**
 * The whole line is paused by a fault of the station itself (its storage, the pairing core, its
 * agent token), never of a device: one state for every fixture, what to do, and a retry. The
 * station retries by itself; "Retry now" asks it to try at once.
 */
export function LinePausedBanner({ pause, onRetry }: { pause: LinePause; onRetry: () => void }) {
  const since = new Date(pause.since).toLocaleTimeString();
  return (
    <section className="banner-msg banner-error" role="alert" data-testid="line-paused">
      <div>LINE PAUSED — {pause.message}</div>
      <div>{pause.action}</div>
      <div className="mono">
        {pause.code}
        {pause.detail ? `: ${pause.detail}` : ''} · since {since}
        {pause.retries > 0 ? ` · ${pause.retries} retries` : ''} · no device is failed for this
      </div>
      <button type="button" className="btn" data-testid="line-retry" onClick={onRetry}>
        Retry now
      </button>
    </section>
  );
}
