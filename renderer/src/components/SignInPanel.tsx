import { useState } from 'react';
import type { StationApi } from '../../../src/api/station-api.ts';
import { errorText } from '../api-client.ts';

/** Sign in by name (a badge scan in the scan field signs in too: OP:<name>). */
export function SignInPanel({ api }: { api: StationApi }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string>();
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    try {
      await api.signIn({ name });
      setName('');
      setError(undefined);
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <form className="panel signin" onSubmit={submit} aria-label="Operator sign-in">
      <h2>Sign in</h2>
      <p>Scan your badge, or type your name:</p>
      <div className="row">
        <input aria-label="Operator name" data-testid="signin-name" value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="btn btn-primary">
          Sign in
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
