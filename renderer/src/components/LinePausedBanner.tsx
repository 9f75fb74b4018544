import type { LinePause } from '../api-types.ts';
import { localTime } from '../local-time.ts';

/** The pairing core is gone: the line waits for it (its own headline, in the line-state style). */
const HEADLINES: Record<string, string> = { PAIRING_CORE_UNREACHABLE: 'PAIRING DOWN' };

/**
 * The whole line is paused by a fault of the station itself (its storage, the pairing core, its
 * agent token), never of a device: one state for every fixture, what to do, and a retry. The
 * station retries by itself; "Retry now" asks it to try at once.
 */
export function LinePausedBanner({ pause, onRetry }: { pause: LinePause; onRetry: () => void }) {
  const headline = HEADLINES[pause.code] ?? 'LINE PAUSED';
  return (
    <section className="line-state line-paused" role="alert" data-testid="line-paused">
      <div className="line-state-text">
        <div className="line-state-headline">
          {headline} — {pause.message}
        </div>
        <div className="line-state-action">{pause.action}</div>
        <div className="line-state-detail mono">
          {pause.code}
          {pause.detail ? `: ${pause.detail}` : ''} · since {localTime(pause.since).slice(11)}
          {pause.retries > 0 ? ` · ${pause.retries} retries` : ''} · no device is failed for this
        </div>
      </div>
      <button type="button" className="btn" data-testid="line-retry" onClick={onRetry}>
        Retry now
      </button>
    </section>
  );
}
