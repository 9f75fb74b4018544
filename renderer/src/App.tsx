import { useEffect } from 'react';
import type { StationApi, StationStatus } from '../../src/api/station-api.ts';
import { NavBar } from './components/NavBar.tsx';
import { SimulatedBanner } from './components/SimulatedBanner.tsx';
import { StatusBar } from './components/StatusBar.tsx';
import { unlockAudio } from './sound-cue.ts';
import { go, type Route, useRoute } from './use-route.ts';
import { useStation } from './use-station.ts';
import { BatchesView } from './views/BatchesView.tsx';
import { BatchReportView } from './views/BatchReportView.tsx';
import { OperatorView } from './views/OperatorView.tsx';
import { QaView } from './views/QaView.tsx';
import { SettingsView } from './views/SettingsView.tsx';

const VIEW_KEYS: Record<string, string> = { F1: 'operator', F2: 'qa', F3: 'batches', F4: 'settings' };

export function App({ api }: { api: StationApi }) {
  const route = useRoute();
  const { status, error } = useStation(api);

  useEffect(() => {
    // F1–F4 switch views from anywhere; any key or click also unlocks the audible cues.
    const onKey = (e: KeyboardEvent) => {
      unlockAudio();
      const view = VIEW_KEYS[e.key];
      if (view) {
        e.preventDefault();
        go(view);
      }
    };
    window.addEventListener('keydown', onKey, true);
    window.addEventListener('pointerdown', unlockAudio, true);
    return () => {
      window.removeEventListener('keydown', onKey, true);
      window.removeEventListener('pointerdown', unlockAudio, true);
    };
  }, []);

  return (
    <div className="app">
      {status?.simulated && <SimulatedBanner />}
      <NavBar route={route} status={status} />
      {error && (
        <div className="connection-error" role="alert">
          Lost contact with the station: {error}
        </div>
      )}
      <main className="content">
        {status ? <CurrentView api={api} route={route} status={status} /> : <p className="loading">Connecting to the station…</p>}
      </main>
      {status && <StatusBar status={status} />}
    </div>
  );
}

function CurrentView({ api, route, status }: { api: StationApi; route: Route; status: StationStatus }) {
  switch (route.view) {
    case 'qa':
      return <QaView api={api} status={status} />;
    case 'batches':
      return <BatchesView api={api} status={status} />;
    case 'settings':
      return <SettingsView api={api} status={status} />;
    case 'report':
      return <BatchReportView api={api} batchId={route.batchId} />;
    default:
      return <OperatorView api={api} status={status} />;
  }
}
