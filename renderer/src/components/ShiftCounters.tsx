import type { ShiftCounters as Counters } from '../api-types.ts';

/** A rate over the first seconds of a shift says nothing: shown once a minute has passed. */
const RATE_AFTER_MS = 60_000;

export function ShiftCounters({ counters }: { counters: Counters }) {
  const settled = Date.now() - Date.parse(counters.since) >= RATE_AFTER_MS;
  const items: { label: string; value: number | string; cls: string }[] = [
    { label: 'Done', value: counters.done, cls: '' },
    { label: 'Passed', value: counters.passed, cls: 'counter-pass' },
    { label: 'Failed', value: counters.failed, cls: 'counter-fail' },
    { label: 'Per hour', value: settled ? Math.round(counters.devicesPerHour) : '—', cls: '' },
  ];

  return (
    <section className="counters" aria-label="Shift counters" data-testid="counters">
      {items.map((i) => (
        <div key={i.label} className={`counter ${i.cls}`}>
          <span className="counter-value">{i.value}</span>
          <span className="counter-label">{i.label}</span>
        </div>
      ))}
    </section>
  );
}
