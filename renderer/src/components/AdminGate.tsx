import { useState } from 'react';
import type { StationApi } from '../../../src/api/station-api.ts';
import { errorText } from '../api-client.ts';

/** Asks for the admin PIN; on success signs in as admin and hands the PIN to the settings form. */
export function AdminGate({ api, onUnlocked }: { api: StationApi; onUnlocked: (pin: string) => void }) {
  const [pin, setPin] = useState('');
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  return (
    <form
      className="panel admin-gate"
      aria-label="Admin sign-in"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.signIn({ pin, name: name.trim() || undefined });
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
      <div className="row">
        <label className="field">
          <span>Your name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>Admin PIN</span>
          <input
            type="password"
            inputMode="numeric"
            autoComplete="off"
            data-testid="admin-pin"
            value={pin}
            onChange={(e) => setPin(e.target.value)}
          />
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
