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
export function FixtureCard({ fixture }: { fixture: FixtureState }) {
  const state = fixture.outcome ?? (fixture.step === 'idle' || fixture.step === 'waiting-scan' ? 'waiting' : 'busy');
  return (
    <article className={`fixture-card fixture-${state}`} data-testid={`fixture-${fixture.id}`} aria-label={fixture.label}>
      <header className="fixture-head">
        <span className="fixture-label">{fixture.label}</span>
        {/* Under a verdict, what the fixture does now (the next device). */}
        {fixture.outcome && fixture.step !== 'done' && <span className="fixture-step">{STEP_TEXT[fixture.step]}</span>}
        {fixture.simulated && <span className="tag-simulated">SIMULATED</span>}
      </header>
      <div className="fixture-verdict" data-testid="verdict">
        {fixture.outcome === 'pass' ? '✔ PASS' : fixture.outcome === 'fail' ? '✘ FAIL' : STEP_TEXT[fixture.step]}
      </div>
      <dl className="fixture-facts">
        <dt>Device</dt>
        <dd className="mono">{fixture.deviceId ?? '—'}</dd>
        <dt>Serial</dt>
        <dd className="mono">{fixture.hardwareSerial ?? '—'}</dd>
      </dl>
      {fixture.outcome === 'fail' && fixture.failure && (
        <div className="fixture-failure">
          <p className="failure-message">
            <span className="failure-code">{fixture.failure.code}</span> {fixture.failure.message}
          </p>
          <p className="failure-action">
            <strong>What to do:</strong> {fixture.failure.action}
          </p>
        </div>
      )}
    </article>
  );
}
