import type { PairingStatus } from '../api-types.ts';

/** A remote core the station cannot reach, and no line pause saying so already (and not registering offline). */
export function pairingDown(pairing: PairingStatus, pauseCode: string | undefined): boolean {
  return pairing.mode !== 'embedded' && !pairing.reachable && !pairing.offline && pauseCode !== 'PAIRING_CORE_UNREACHABLE';
}

/**
 * The remote pairing core does not answer (the station asks it every 2 s): one state over every
 * view, in the line-state style, before any device needs the core.
 */
export function PairingDownBanner({ pairing }: { pairing: PairingStatus }) {
  const next =
    pairing.mode === 'deferred'
      ? 'Devices wait in their fixtures, nothing written to them, until it answers.'
      : pairing.mode === 'remote-with-offline-fallback'
        ? 'Devices are registered offline, in an offline batch to sync, until it answers.'
        : 'The line pauses at the first device that needs it, and no device is failed for it.';
  return (
    <section className="line-state pairing-down" role="alert" data-testid="pairing-down">
      <div className="line-state-text">
        <div className="line-state-headline">PAIRING DOWN — the pairing core does not answer</div>
        <div className="line-state-action">
          {next} It goes on by itself when the core answers; if it does not within a few minutes, tell plant IT (check the pairing
          URL in Settings, F4).
        </div>
        <div className="line-state-detail mono">
          {pairing.url ?? 'no URL'}
          {pairing.unreachableReason ? `: ${pairing.unreachableReason}` : ''} · asked again every 2 s
        </div>
      </div>
    </section>
  );
}
