import { useEffect, useRef, useState } from 'react';

/**
 * Web mode: the station answers but refuses this page's session token (the token kept in its data
 * folder was replaced, or it runs on another one). Says what to do, and takes the new address without a reload.
 */
export function SessionRefused({ reason, onToken }: { reason: string; onToken: (token: string) => void }) {
  const [address, setAddress] = useState('');
  const [error, setError] = useState<string>();
  const ref = useRef<HTMLInputElement>(null);
  // Nothing else on the page works until this is done: the address field takes the focus.
  useEffect(() => ref.current?.focus(), []);
  return (
    <section className="line-state session-refused" role="alert" data-testid="session-refused">
      <div className="line-state-text">
        <div className="line-state-headline">SESSION TOKEN REFUSED</div>
        <div className="line-state-action">
          {reason} Open the address the station printed when it started, in its terminal (
          <span className="mono">http://127.0.0.1:…/#token=…</span>), or paste it here:
        </div>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            const token = new URLSearchParams(address.trim().replace(/^[^#]*#\/?/, '')).get('token');
            if (token) onToken(token);
            else setError('That address has no #token=… at its end: copy the whole line the station printed.');
          }}
        >
          <input
            ref={ref}
            aria-label="The station's address with its token"
            data-testid="session-address"
            className="grow"
            value={address}
            onChange={(e) => setAddress(e.target.value)}
            placeholder="http://127.0.0.1:4173/#token=…"
          />
          <button type="submit" className="btn btn-primary">
            Use this address
          </button>
        </form>
        {error && <p className="line-state-detail">{error}</p>}
      </div>
    </section>
  );
}
