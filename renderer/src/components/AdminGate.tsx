import { useEffect, useRef, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { StationApi } from '../api-types.ts';

/** Asks for the admin PIN; on success hands it to the settings form. The line operator stays signed in. */
export function AdminGate({ api, onUnlocked }: { api: StationApi; onUnlocked: (pin: string) => void }) {
  const [pin, setPin] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const pinRef = useRef<HTMLInputElement>(null);
  // F4 lands in the first field of the view.
  useEffect(() => pinRef.current?.focus(), []);
  return (
    <form
      className="panel admin-gate"
      aria-label="Admin sign-in"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.unlockAdmin(pin, name.trim() || undefined);
          onUnlocked(pin);
        } catch (err) {
          setError(errorText(err));
        } finally {
          setPin('');
        }
      }}
    >
      <h2>Settings are for admins</h2>
      <p>Enter the admin PIN to change the station's settings. Every change is recorded in the audit trail.</p>
      <p className="hint">
        Unlocking does not sign the line operator out: devices are still recorded under their name, and your changes under yours.
      </p>
      <div className="row">
        <label className="field">
          <span>Admin PIN</span>
          <input
            type="password"
            inputMode="numeric"
            autoComplete="off"
            data-testid="admin-pin"
            ref={pinRef}
            value={pin}
            onChange={(e) => setPin(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Your name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-primary" data-testid="admin-unlock">
          Unlock settings
        </button>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="admin-error">
          {error}
        </p>
      )}
    </form>
  );
}
