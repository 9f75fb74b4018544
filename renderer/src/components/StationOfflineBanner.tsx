import type { LinkState } from '../station-link.ts';

/**
 * The station process or its event stream is gone: one unmistakable state over every view, in the
 * style of a paused line. What is on screen is the last thing known; the page keeps trying.
 */
export function StationOfflineBanner({ link }: { link: Extract<LinkState, { kind: 'offline' }> }) {
  return (
    <section className="line-state station-offline" role="alert" data-testid="station-offline" data-since={link.since}>
      <div className="line-state-text">
        <div className="line-state-headline">STATION OFFLINE — {link.reason}</div>
        <div className="line-state-action">
          Leave the devices in their fixtures. This page reconnects by itself as soon as the station is back; if it is not back
          within a minute, tell plant IT the station stopped (restart Imprint on this PC).
        </div>
        <div className="line-state-detail">
          Trying every second{link.retries > 0 ? ` · ${link.retries} tries so far` : ''} · the cards show the last known state,
          not live
        </div>
      </div>
    </section>
  );
}
