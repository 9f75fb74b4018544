import type { ShiftCounters as Counters } from '../api-types.ts';

export function ShiftCounters({ counters }: { counters: Counters }) {
  const items = [
    { label: 'Done', value: counters.done, cls: '' },
    { label: 'Passed', value: counters.passed, cls: 'counter-pass' },
    { label: 'Failed', value: counters.failed, cls: 'counter-fail' },
    { label: 'Per hour', value: Math.round(counters.devicesPerHour), cls: '' },
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
