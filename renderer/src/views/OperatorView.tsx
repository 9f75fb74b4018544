// The operator's view, driven by scans: the scan field has the focus and gets it back after every
// action. Nothing reachable by Enter, Space or a scanner's CR stops the line, closes a batch or
// signs out: those open a dialog whose default is Cancel.
import { useRef, useState } from 'react';
import { errorText } from '../api-client.ts';
import type { StationApi, StationStatus } from '../api-types.ts';
import { ConfirmDialog, type ConfirmRequest } from '../components/ConfirmDialog.tsx';
import { FixtureCard } from '../components/FixtureCard.tsx';
import { LinePausedBanner } from '../components/LinePausedBanner.tsx';
import { RecentFailures } from '../components/RecentFailures.tsx';
import { ScanField } from '../components/ScanField.tsx';
import { ShiftCounters } from '../components/ShiftCounters.tsx';
import { focusScanField } from '../scan-focus.ts';
import { routeScan } from '../scan-routing.ts';

type Message = { kind: 'ok' | 'error'; text: string };

/** Why Start line is not offered yet, or undefined when it is. */
export function startBlocker(status: StationStatus): string | undefined {
  // What the station says start() needs now (a setting may allow a start without a batch).
  const needs = status.startRequires ?? [...(status.operator ? [] : ['operator']), ...(status.batch ? [] : ['batch'])];
  const operator = needs.includes('operator');
  const batch = needs.includes('batch');
  if (operator && batch) return 'To start the line, sign in (scan your badge or type your name), then open a batch.';
  if (operator) return 'To start the line, sign in: scan your badge or type your name.';
  if (batch) return 'To start the line, open a batch: scan its work order (WO:…) or press F3.';
  return undefined;
}

function columnsFor(n: number): number {
  return n <= 1 ? 1 : n <= 4 ? n : n <= 6 ? 3 : 4;
}

export function OperatorView({
  api,
  status,
  online,
  verdict,
}: {
  api: StationApi;
  status: StationStatus;
  online: boolean;
  verdict?: string;
}) {
  const [message, setMessage] = useState<Message>();
  const [confirm, setConfirm] = useState<ConfirmRequest>();
  // Scans are handled one after the other and may come faster than status events (a badge, then a
  // work order): what the last scans changed counts until the station's status says it too.
  const fromStatus = { signedIn: !!status.operator, openWorkOrder: status.batch?.workOrder };
  const known = useRef(fromStatus);
  const seen = useRef(JSON.stringify(fromStatus));
  if (JSON.stringify(fromStatus) !== seen.current) {
    seen.current = JSON.stringify(fromStatus);
    known.current = fromStatus;
  }

  /** A reprint says which device's label went out (the message row). */
  const reprinted = (r: { hardwareSerial?: string; fixture?: string }) =>
    `Label of ${r.hardwareSerial ?? 'the last device'}${r.fixture ? ` (${r.fixture})` : ''} sent to the printer again.`;

  /** Every action: run it, say how it went, and give the focus back to the scan field. */
  const act = async <T,>(what: () => Promise<T>, done?: string | ((result: T) => string)) => {
    try {
      const result = await what();
      setMessage(done ? { kind: 'ok', text: typeof done === 'string' ? done : done(result) } : undefined);
    } catch (e) {
      setMessage({ kind: 'error', text: errorText(e) });
    } finally {
      focusScanField();
    }
  };

  const onScan = async (text: string) => {
    const action = routeScan(text, known.current);
    switch (action.kind) {
      case 'refuse':
        setMessage({ kind: 'error', text: action.message });
        return;
      case 'sign-in':
        return act(async () => {
          await api.signIn({ name: action.name });
          known.current = { ...known.current, signedIn: true };
        });
      case 'open-batch':
        return act(async () => {
          await api.openBatch(action.workOrder);
          known.current = { ...known.current, openWorkOrder: action.workOrder };
        }, `Batch ${action.workOrder} is open.`);
      case 'badge':
        return act(async () => {
          await api.submitScan(action.text);
          known.current = { ...known.current, signedIn: true };
        });
      default:
        return act(() => api.submitScan(action.text));
    }
  };

  const askToStop = () =>
    setConfirm({
      title: 'Stop the line?',
      body: 'Devices in the fixtures finish their current step, then the line stops until someone starts it again.',
      confirmLabel: '■ Stop the line',
      onConfirm: () => void act(() => api.stop(), 'The line is stopped.'),
    });
  const askToSignOut = () =>
    setConfirm({
      title: `Sign out ${status.operator?.name ?? ''}?`,
      body: status.running
        ? 'The line keeps running, but no scan is accepted until someone signs in.'
        : 'The next operator signs in with a badge or a name.',
      confirmLabel: 'Sign out',
      onConfirm: () => void act(() => api.signOut()),
    });

  const blocker = startBlocker(status);
  const prompt = status.operator ? 'Scan a device label' : 'Sign in: scan your badge or type your name';
  const fixtures = status.fixtures;
  return (
    <div className="operator-view">
      <div className="operator-top">
        <ScanField prompt={prompt} onScan={onScan} />
        <div className="line-controls">
          {status.running ? (
            <button type="button" className="btn btn-stop" data-testid="stop-line" disabled={!online} onClick={askToStop}>
              ■ Stop line…
            </button>
          ) : (
            <button
              type="button"
              className="btn btn-start"
              data-testid="start-line"
              disabled={!online || !!blocker}
              aria-describedby={blocker ? 'start-blocker' : undefined}
              onClick={() => act(() => api.start())}
            >
              ▶ Start line
            </button>
          )}
          {status.operator && (
            // Secondary actions share one column, so the counters keep their room at 1366 px.
            <div className={`line-secondary${status.labelPrinter ? ' stacked' : ''}`}>
              {status.labelPrinter && (
                <button
                  type="button"
                  className="btn"
                  data-testid="reprint-last-label"
                  disabled={!online}
                  title="Print the label of the line's last PASS again"
                  onClick={() => act(() => api.reprintLabel(), reprinted)}
                >
                  Reprint last label
                </button>
              )}
              <button type="button" className="btn" data-testid="sign-out" onClick={askToSignOut}>
                Sign out…
              </button>
            </div>
          )}
        </div>
        <ShiftCounters counters={status.counters} />
      </div>
      {status.linePause && (
        // Start line on a paused line retries at once.
        <LinePausedBanner pause={status.linePause} onRetry={() => act(() => api.start())} />
      )}
      {/* One row kept for messages, empty or not: nothing below it moves when one comes or goes. */}
      <div className="operator-message-row">
        {message ? (
          <p
            className={`banner-msg banner-${message.kind}`}
            role={message.kind === 'error' ? 'alert' : 'status'}
            data-testid="operator-message"
          >
            {message.text}
          </p>
        ) : !status.running && blocker ? (
          <p className="banner-msg banner-warn" id="start-blocker" data-testid="start-blocker">
            {blocker}
          </p>
        ) : (
          // Nothing to say: the row shows the line's last failures.
          <RecentFailures failures={status.recentFailures ?? []} />
        )}
      </div>
      {/* The one live region for verdicts: each finished device is said once, here. */}
      <p className="sr-only" role="status" aria-live="polite" data-testid="verdict-live">
        {verdict}
      </p>
      <section className={`fixtures cols-${columnsFor(fixtures.length)}`} aria-label="Fixtures">
        {fixtures.length === 0 || (!status.running && blocker) ? (
          <GettingStarted signedIn={!!status.operator} batchOpen={!!status.batch} />
        ) : (
          fixtures.map((f) => (
            <FixtureCard
              key={f.id}
              fixture={f}
              onAcknowledge={(id) => act(() => api.acknowledgeFailure(id))}
              onReprint={(id) => act(() => api.reprintLabel(id), reprinted)}
            />
          ))
        )}
      </section>
      <ConfirmDialog
        request={confirm}
        onClose={() => {
          setConfirm(undefined);
          focusScanField();
        }}
      />
    </div>
  );
}

/** What to do when the line is stopped and no fixture card is up yet. */
function GettingStarted({ signedIn, batchOpen }: { signedIn: boolean; batchOpen: boolean }) {
  return (
    <ol className="panel getting-started" data-testid="getting-started">
      <li className={signedIn ? 'done' : ''}>Sign in: scan your badge (OP:your name) or type your name, then Enter.</li>
      <li className={batchOpen ? 'done' : ''}>
        Open a batch: scan its work order (WO:number) or open one in <a href="#/batches">Batches (F3)</a>.
      </li>
      <li>Press ▶ Start line. Each fixture then shows its device and a big PASS or FAIL.</li>
    </ol>
  );
}
