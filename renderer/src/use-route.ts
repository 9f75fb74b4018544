// Hash routes (#/operator, #/qa, #/batches, #/settings, #/report/<batch id>): work from file://
// in Electron and from web mode alike.
import { useEffect, useState } from 'react';

export type Route = { view: 'operator' | 'qa' | 'batches' | 'settings' } | { view: 'report'; batchId: string };

export function parseRoute(hash: string): Route {
  const [view, arg] = hash.replace(/^#\/?/, '').split('/');
  if (view === 'report' && arg) return { view: 'report', batchId: decodeURIComponent(arg) };
  if (view === 'qa' || view === 'batches' || view === 'settings') return { view };
  return { view: 'operator' };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function go(path: string): void {
  location.hash = `#/${path}`;
}
