import type { FixtureState } from '../api-types.ts';

type WorkflowStep = FixtureState['step'];

const STEP_TEXT: Record<WorkflowStep, string> = {
  idle: 'Idle',
  'waiting-scan': 'Waiting for a scan',
  identify: 'Reading identity',
  'cross-check': 'Checking label',
  'storage-status': 'Checking storage',
  register: 'Registering',
  'write-secret': 'Writing secret',
  verify: 'Verifying',
  lock: 'Locking storage',
  'write-config': 'Writing config',
  record: 'Recording',
  done: 'Done',
};

/**
 * One fixture. Not a live region itself: the operator view has one for every verdict. The card's
 * height is set by the grid, not by its text, so it does not jump between states.
 */
export function FixtureCard({
  fixture,
  onAcknowledge,
  onReprint,
}: {
  fixture: FixtureState;
  onAcknowledge?: (fixtureId: string) => void;
  /** Sends this fixture's last PASS label again (shown when a label was printed or failed). */
  onReprint?: (fixtureId: string) => void;
}) {
  const held = fixture.heldFailure;
  const state = held
    ? 'fail'
    : (fixture.outcome ?? (fixture.step === 'idle' || fixture.step === 'waiting-scan' ? 'waiting' : 'busy'));
  const failure = held?.failure ?? (fixture.outcome === 'fail' ? fixture.failure : undefined);
  return (
    <article className={`fixture-card fixture-${state}`} data-testid={`fixture-${fixture.id}`} aria-label={fixture.label}>
      <header className="fixture-head">
        <span className="fixture-label">{fixture.label}</span>
        {/* Under a verdict, what the fixture does now (the next device). */}
        {held && onAcknowledge ? (
          // In the head, so the failure and what to do keep their room; a plain button, never a default.
          <button
            type="button"
            className="btn btn-ack"
            data-testid="acknowledge"
            title="Taking the device out of the fixture releases it too"
            onClick={() => onAcknowledge(fixture.id)}
          >
            ✓ Acknowledge
          </button>
        ) : held ? (
          <span className="fixture-step">Held until acknowledged or taken out</span>
        ) : (
          fixture.outcome && fixture.step !== 'done' && <span className="fixture-step">{STEP_TEXT[fixture.step]}</span>
        )}
        {/* A held FAIL's head is its Acknowledge button (the banner above says the line is simulated). */}
        {fixture.simulated && !held && <span className="tag-simulated">SIMULATED</span>}
      </header>
      <div className="fixture-verdict" data-testid="verdict">
        {held || fixture.outcome === 'fail' ? '✘ FAIL' : fixture.outcome === 'pass' ? '✔ PASS' : STEP_TEXT[fixture.step]}
      </div>
      <dl className="fixture-facts">
        <dt>Device</dt>
        <dd className="mono">{(held ? held.deviceId : fixture.deviceId) ?? '—'}</dd>
        <dt>Serial</dt>
        <dd className="mono">{(held ? held.hardwareSerial : fixture.hardwareSerial) ?? '—'}</dd>
      </dl>
      {fixture.outcome === 'pass' && (fixture.labelPrint || fixture.hook) && (
        <AfterPass fixture={fixture} onReprint={onReprint} />
      )}
      {failure && (
        <div className="fixture-failure">
          <p className="failure-message">
            <span className="failure-code">{failure.code}</span> {failure.message}
          </p>
          <p className="failure-action">
            <strong>What to do:</strong> {failure.action}
          </p>
        </div>
      )}
    </article>
  );
}

/** Label and post-PASS hook of a PASS: a failure never changes the verdict, it is shown in the warning colour. */
function AfterPass({ fixture, onReprint }: { fixture: FixtureState; onReprint?: (fixtureId: string) => void }) {
  return (
    <p className="after-pass" data-testid="after-pass">
      {fixture.labelPrint && (
        <span className={fixture.labelPrint === 'printed' ? 'after-ok' : 'after-warn'}>
          {fixture.labelPrint === 'printed' ? '✔ Label printed' : '⚠ Label NOT printed: reprint it'}
        </span>
      )}
      {fixture.labelPrint && onReprint && (
        <button type="button" className="btn btn-small" data-testid="reprint-label" onClick={() => onReprint(fixture.id)}>
          Reprint label
        </button>
      )}
      {fixture.hook && (
        <span className={fixture.hook.ok ? 'after-ok' : 'after-warn'} title={fixture.hook.message}>
          {fixture.hook.ok ? '✔ Hook done' : `⚠ Hook failed${fixture.hook.message ? `: ${fixture.hook.message}` : ''}`}
        </span>
      )}
    </p>
  );
}
