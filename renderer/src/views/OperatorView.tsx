import { useState } from 'react';
import type { StationApi, StationStatus } from '../../../src/api/station-api.ts';
import { errorText } from '../api-client.ts';
import { FixtureCard } from '../components/FixtureCard.tsx';
import { LinePausedBanner } from '../components/LinePausedBanner.tsx';
import { ScanField } from '../components/ScanField.tsx';
import { ShiftCounters } from '../components/ShiftCounters.tsx';
import { SignInPanel } from '../components/SignInPanel.tsx';

export function OperatorView({ api, status }: { api: StationApi; status: StationStatus }) {
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string }>();

  const act = async (what: () => Promise<unknown>, done?: string) => {
    try {
      await what();
      setMessage(done ? { kind: 'ok', text: done } : undefined);
    } catch (e) {
      setMessage({ kind: 'error', text: errorText(e) });
    }
  };

  const prompt = status.operator ? 'Scan a device label' : 'Scan your badge to sign in';
  return (
    <div className="operator-view">
      <div className="operator-top">
        <ScanField prompt={prompt} onScan={(text) => act(() => api.submitScan(text))} />
        <div className="line-controls">
          {status.running ? (
            <button type="button" className="btn btn-stop" onClick={() => act(() => api.stop())}>
              ■ Stop line
            </button>
          ) : (
            <button type="button" className="btn btn-start" data-testid="start-line" onClick={() => act(() => api.start())}>
              ▶ Start line
            </button>
          )}
          {status.operator && (
            <button type="button" className="btn" onClick={() => act(() => api.signOut())}>
              Sign out {status.operator.name}
            </button>
          )}
        </div>
      </div>
      {status.linePause && (
        // Start line on a paused line retries at once.
        <LinePausedBanner pause={status.linePause} onRetry={() => act(() => api.start())} />
      )}
      {message && (
        <p
          className={`banner-msg banner-${message.kind}`}
          role={message.kind === 'error' ? 'alert' : 'status'}
          data-testid="operator-message"
        >
          {message.text}
        </p>
      )}
      {!status.operator && <SignInPanel api={api} />}
      {!status.batch && status.operator && (
        <p className="banner-msg banner-warn">
          No batch is open. Open one in <a href="#/batches">Batches (F3)</a>.
        </p>
      )}
      <ShiftCounters counters={status.counters} />
      <section className="fixtures" aria-label="Fixtures">
        {status.fixtures.length === 0 ? (
          <GettingStarted signedIn={!!status.operator} batchOpen={!!status.batch} />
        ) : (
          status.fixtures.map((f) => <FixtureCard key={f.id} fixture={f} />)
        )}
      </section>
    </div>
  );
}

/** What to do when the line is stopped and no fixture card is up yet. */
function GettingStarted({ signedIn, batchOpen }: { signedIn: boolean; batchOpen: boolean }) {
  return (
    <ol className="panel getting-started" data-testid="getting-started">
      <li className={signedIn ? 'done' : ''}>Sign in: scan your badge (OP:your name) or type your name.</li>
      <li className={batchOpen ? 'done' : ''}>
        Open a batch for your work order in <a href="#/batches">Batches (F3)</a>.
      </li>
      <li>Press ▶ Start line. Each fixture then shows its device and a big PASS or FAIL.</li>
    </ol>
  );
}
