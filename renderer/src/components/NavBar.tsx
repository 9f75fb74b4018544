import type { StationStatus } from '../api-types.ts';
import type { Route } from '../use-route.ts';

const ITEMS = [
  { view: 'operator', label: 'Operator', key: 'F1' },
  { view: 'qa', label: 'QA / Audit', key: 'F2' },
  { view: 'batches', label: 'Batches', key: 'F3' },
  { view: 'settings', label: 'Settings', key: 'F4' },
] as const;

export function NavBar({ route, status }: { route: Route; status?: StationStatus }) {
  const current = route.view === 'report' ? 'batches' : route.view;
  return (
    <nav className="nav" aria-label="Views">
      <span className="brand">Imprint</span>
      {ITEMS.map((item) => (
        <a key={item.view} href={`#/${item.view}`} className="nav-item" aria-current={current === item.view ? 'page' : undefined}>
          {item.label} <kbd>{item.key}</kbd>
        </a>
      ))}
      <span className="nav-operator" data-testid="nav-operator">
        {status?.operator ? `${status.operator.name} (${status.operator.role})` : 'Nobody signed in'}
      </span>
    </nav>
  );
}
