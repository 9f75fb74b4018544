import type { ChainStatus } from '../api-types.ts';

export function ChainStatusBadge({ chain, onVerify }: { chain?: ChainStatus; onVerify: () => void }) {
  return (
    <div className={`chain ${chain ? (chain.ok ? 'chain-ok' : 'chain-broken') : ''}`} data-testid="chain-status" role="status">
      <span className="chain-text">
        {!chain
          ? 'Checking the audit chain…'
          : chain.ok
            ? `✔ Audit trail verified: ${chain.events} events, chain intact`
            : `✘ Audit trail BROKEN at event ${chain.brokenAt}: ${chain.reason}`}
      </span>
      <button type="button" className="btn" onClick={onVerify}>
        Verify again
      </button>
    </div>
  );
}
