import type { StationStatus } from '../api-types.ts';
import { localTime } from '../local-time.ts';

/** The line's last failures, newest first, in one strip under the cards (from the station's trail). */
export function RecentFailures({ failures }: { failures: NonNullable<StationStatus['recentFailures']> }) {
  return (
    <section className="recent-failures" aria-label="Recent failures" data-testid="recent-failures">
      <h2>Recent failures</h2>
      {failures.length === 0 ? (
        <span className="muted">None</span>
      ) : (
        <ol>
          {failures.map((f) => (
            <li key={`${f.at}-${f.fixtureId}-${f.hardwareSerial ?? ''}`} title={`${f.failure.message} ${f.failure.action}`}>
              <span className="muted">{localTime(f.at).slice(11)}</span> {f.fixtureId}{' '}
              <span className="mono">{f.hardwareSerial ?? f.deviceId ?? '?'}</span>{' '}
              <span className="failure-code">{f.failure.code}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
